// One small interface over three browser engines, so that one guest story
// runs the same way in each: Chromium (playwright-core), Firefox ESR
// (puppeteer-core over WebDriver BiDi) and WebKitGTK, Safari's engine
// (selenium-webdriver talking to WebKitWebDriver, which drives MiniBrowser
// on a virtual screen from xvfb-run). All of them are Debian's packages,
// installed by scripts/setup; nothing here downloads a browser.
//
// A guest finds things as a person does, by role and visible name or by a
// field's label. The finder is one function that runs inside the page, so
// every engine finds by the same rule; the driver then clicks and types
// with real input events.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { Builder } from 'selenium-webdriver';
import puppeteer from 'puppeteer-core';
import { launch as launchChromium } from './browser.mjs';

export const ENGINES = ['chromium', 'firefox', 'webkit'];
/** A phone's viewport (an iPhone 12–15 in CSS pixels). */
export const PHONE = { width: 390, height: 844 };
const TIMEOUT_MS = 20_000;
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** Starts `name` (one of ENGINES); `guest()` then opens a fresh profile. */
export function startEngine(name) {
  const start = { chromium, firefox, webkit }[name];
  if (!start) throw new Error(`unknown engine ${name}`);
  return start();
}

async function chromium() {
  const browser = await launchChromium();
  return {
    name: 'chromium',
    async guest() {
      const context = await browser.newContext({ viewport: PHONE, locale: 'en-US' });
      const page = await context.newPage();
      return new Guest('chromium', {
        goto: (url) => page.goto(url),
        reload: () => page.reload(),
        url: async () => page.url(),
        run: (fn, arg) => page.evaluate(fn, arg),
        element: (fn, arg) => elementOf(page.evaluateHandle(fn, arg)),
        click: (element) => element.click(),
        type: (element, text) => element.fill(text),
        screenshot: (path) => page.screenshot({ path, fullPage: true }),
        close: () => context.close(),
      });
    },
    close: () => browser.close(),
  };
}

async function firefox() {
  const browser = await puppeteer.launch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath: process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr',
    headless: true,
    extraPrefsFirefox: { 'intl.accept_languages': 'en-US' },
    timeout: 60_000,
  });
  return {
    name: 'firefox',
    async guest() {
      const context = await browser.createBrowserContext();
      const page = await context.newPage();
      await page.setViewport(PHONE);
      return new Guest('firefox', {
        goto: (url) => page.goto(url),
        reload: () => page.reload(),
        url: async () => page.url(),
        run: (fn, arg) => page.evaluate(fn, arg),
        element: (fn, arg) => elementOf(page.evaluateHandle(fn, arg)),
        click: (element) => element.click(),
        async type(element, text) {
          // puppeteer types key by key into what is there: empty it first.
          await element.evaluate((e) => e.select());
          await element.type(text);
        },
        screenshot: (path) => page.screenshot({ path, fullPage: true }),
        close: () => context.close(),
      });
    },
    close: () => browser.close(),
  };
}

/** The element a page-side handle points at, or null (the handle freed). */
async function elementOf(pending) {
  const handle = await pending;
  const element = handle.asElement();
  if (!element) await handle.dispose();
  return element;
}

/** Debian's MiniBrowser lives in the multiarch directory of libwebkit2gtk. */
function miniBrowserPath() {
  if (process.env.MINIBROWSER_PATH) return process.env.MINIBROWSER_PATH;
  for (const dir of readdirSync('/usr/lib')) {
    const path = `/usr/lib/${dir}/webkit2gtk-4.1/MiniBrowser`;
    if (existsSync(path)) return path;
  }
  throw new Error('no MiniBrowser in /usr/lib/*/webkit2gtk-4.1/ (scripts/setup installs webkit2gtk-driver)');
}

async function freePort() {
  const server = createServer();
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  await new Promise((ok) => server.close(ok));
  return port;
}

// WebKitWebDriver runs one session at a time; each guest() is one session
// (a fresh MiniBrowser, so a fresh profile), and the driver and its virtual
// screen stay up for the whole file.
async function webkit() {
  const port = await freePort();
  const screen = `${PHONE.width}x${PHONE.height}x24`;
  // Its own process group, so that close() ends xvfb-run, Xvfb, the
  // driver and the browser together.
  const child = spawn(
    'xvfb-run',
    ['-a', '-s', `-screen 0 ${screen}`, process.env.WEBKIT_DRIVER_PATH ?? 'WebKitWebDriver', `--port=${port}`],
    {
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      // WebKit sends Accept-Language from the locale; "C" would say "C".
      env: { ...process.env, LANG: 'en_US.UTF-8' },
    },
  );
  let log = '';
  child.stderr.on('data', (chunk) => (log = (log + chunk).slice(-4000)));
  const server = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${server}/status`)).ok) break;
    } catch {
      /* not yet */
    }
    if (i > 300 || child.exitCode !== null) throw new Error(`WebKitWebDriver did not start:\n${log}`);
    await sleep(100);
  }
  const binary = miniBrowserPath();
  let open = null;
  return {
    name: 'webkit',
    async guest() {
      if (open) throw new Error('WebKitWebDriver runs one session at a time: close the last guest first');
      const driver = await new Builder()
        .usingServer(server)
        .withCapabilities({
          browserName: 'MiniBrowser',
          // --full-screen drops MiniBrowser's toolbar, whose width would
          // keep the window wider than a phone; the window is then sized.
          'webkitgtk:browserOptions': { binary, args: ['--automation', '--full-screen'] },
        })
        .build();
      open = driver;
      await driver.manage().window().setRect({ x: 0, y: 0, ...PHONE });
      const script = (fn) => `return (${fn})(arguments[0]);`;
      return new Guest('webkit', {
        goto: (url) => driver.get(url),
        reload: () => driver.navigate().refresh(),
        url: () => driver.getCurrentUrl(),
        run: (fn, arg) => driver.executeScript(script(fn), arg),
        element: (fn, arg) => driver.executeScript(script(fn), arg),
        click: (element) => element.click(),
        async type(element, text) {
          await element.clear();
          await element.sendKeys(text);
        },
        screenshot: async (path) => writeFile(path, await driver.takeScreenshot(), 'base64'),
        async close() {
          open = null;
          await driver.quit();
        },
      });
    },
    async close() {
      await open?.quit().catch(() => undefined);
      if (child.exitCode !== null) return;
      const exited = new Promise((ok) => child.once('exit', ok));
      process.kill(-child.pid, 'SIGTERM');
      await exited;
    },
  };
}

/** The name a query asks for: exact text, or a RegExp. */
function nameQuery(name) {
  return name instanceof RegExp ? { re: name.source, flags: name.flags } : { text: name };
}

// Runs inside the page (serialized: it may use nothing from this module).
// The first shown element of `kind` whose accessible name matches: for a
// button, link or heading its aria-label or its text; for a field, the text
// of its <label> or its aria-label.
function findInPage({ kind, name, enabled }) {
  const squash = (s) => (s ?? '').replace(/\s+/g, ' ').trim();
  const fits = (s) => (name.re ? new RegExp(name.re, name.flags).test(squash(s)) : squash(s) === name.text);
  const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
  const usable = (e) => shown(e) && !(enabled && e.disabled);
  const selectors = {
    button: 'button, [role="button"], input[type="submit"], input[type="button"]',
    link: 'a[href], [role="link"]',
    heading: 'h1, h2, h3, h4, h5, h6, [role="heading"]',
  };
  if (kind === 'field') {
    for (const label of document.querySelectorAll('label')) {
      if (fits(label.textContent) && label.control && usable(label.control)) return label.control;
    }
    for (const e of document.querySelectorAll('input[aria-label], textarea[aria-label], select[aria-label]')) {
      if (fits(e.getAttribute('aria-label')) && usable(e)) return e;
    }
    return null;
  }
  for (const e of document.querySelectorAll(selectors[kind])) {
    const label = e.getAttribute('aria-label') ?? (e instanceof HTMLInputElement ? e.value : e.textContent);
    if (fits(label) && usable(e)) return e;
  }
  return null;
}

function textInPage({ scope }) {
  const root = scope ? document.querySelector(scope) : document.body;
  return root ? root.innerText : null;
}

function layoutInPage() {
  return { innerWidth: window.innerWidth, scrollWidth: document.documentElement.scrollWidth };
}

/** One guest's browser tab in one engine, used as a person uses it. */
export class Guest {
  constructor(engine, driver) {
    this.engine = engine;
    this.driver = driver;
  }

  /** Opens an address as typed or pasted into the address bar: the first
   * page of a visit, the guest's webmail, or a link handed over in person. */
  async goto(url) {
    await this.driver.goto(url);
  }

  async reload() {
    await this.driver.reload();
  }

  /** The address in the address bar. */
  url() {
    return this.driver.url();
  }

  /** Waits until the page shows `kind` ('button', 'link', 'heading',
   * 'field') named `name` (text or RegExp). */
  async waitFor(kind, name) {
    await this.#find(kind, name, false);
  }

  /** Clicks the button or link named `name`, once it is shown and enabled. */
  async click(kind, name) {
    await this.driver.click(await this.#find(kind, name, true));
  }

  /** Types `text` into the field labelled `label`, replacing what was there. */
  async fill(label, text) {
    await this.driver.type(await this.#find('field', label, true), text);
  }

  /** The visible text of the page, or of the first element matching the
   * CSS selector `scope`. */
  async text(scope) {
    return (await this.driver.run(textInPage, { scope })) ?? '';
  }

  /** Waits until `text` is shown (in `scope`, as for text()). */
  async waitForText(text, scope) {
    await this.#until(`text "${text}"${scope ? ` in ${scope}` : ''}`, async () =>
      (await this.driver.run(textInPage, { scope }))?.includes(text),
    );
  }

  /** The viewport's width and the page's, in CSS pixels. */
  layout() {
    return this.driver.run(layoutInPage, {});
  }

  async screenshot(path) {
    await this.driver.screenshot(path);
  }

  async close() {
    await this.driver.close();
  }

  async #find(kind, name, enabled) {
    const query = { kind, name: nameQuery(name), enabled };
    return this.#until(`${kind} "${name}"`, () => this.driver.element(findInPage, query));
  }

  // Polls `probe` (errors count as "not yet": a page in the middle of
  // navigating has no document to ask) until it gives something truthy.
  async #until(what, probe) {
    const end = Date.now() + TIMEOUT_MS;
    let last;
    for (;;) {
      try {
        const value = await probe();
        if (value) return value;
      } catch (e) {
        last = e;
      }
      if (Date.now() > end) {
        const page = await this.url().catch(() => '?');
        const shown = await this.text().catch(() => '?');
        throw new Error(
          `${this.engine}: still no ${what} after ${TIMEOUT_MS / 1000} s on ${page}, which shows: ` +
            JSON.stringify(shown.slice(0, 400)) +
            (last ? ` (last error: ${last.message})` : ''),
        );
      }
      await sleep(100);
    }
  }
}
