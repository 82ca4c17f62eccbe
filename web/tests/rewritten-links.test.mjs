// Links as the mail world delivers them, clicked in headless Chromium
// against the real binary and maildev: rewritten by a mail gateway that
// percent-encodes the `#` (as Microsoft Safe Links can: the browser lands on
// `/open%23k1.…` or `/open%2523k1.…`), or with characters a mail program
// glued to the key's end. Each opens the link page with the address bar at
// a clean `/open`. A browser without WebAssembly (iPhone Lockdown Mode) is
// told why it cannot open the conversation and what to do, and its visit
// does not use the link up. An unknown address gets the styled 404 page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, launch } from './support/browser.mjs';
import { linkIn, startMail, startServer } from './support/latchkey.mjs';
import { clickLinkInMail } from './support/person.mjs';

const require = createRequire(import.meta.url);
const AXE = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts/screenshots');
/** Short, so that a link the page had redeemed would show as used soon. */
const GRACE_SECS = 1;
const member = { LATCHKEY_HANDLE: 'bob', LATCHKEY_PASSWORD: 'a long member passphrase' };

let browser, mail, server, gateway;

/** A mail gateway's redirector: `/safelinks?url=ADDRESS` answers 302 to
 * ADDRESS, as the rewritten link in a mail does when clicked. */
async function startGateway() {
  const redirector = createServer((req, res) => {
    const url = new URL(req.url, 'http://gateway');
    const target = url.searchParams.get('url');
    if (url.pathname !== '/safelinks' || !target) return res.writeHead(404).end();
    res.writeHead(302, { location: target }).end();
  });
  await new Promise((ok) => redirector.listen(0, '127.0.0.1', ok));
  const origin = `http://127.0.0.1:${redirector.address().port}`;
  return {
    /** The address the gateway puts into the mail in place of `target`. */
    rewrite: (target) => `${origin}/safelinks?url=${encodeURIComponent(target)}`,
    close: () => new Promise((ok) => redirector.close(ok)),
  };
}

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  mail = await startMail();
  server = await startServer(mail, { LATCHKEY_LINKS__GRACE_SECS: String(GRACE_SECS) });
  gateway = await startGateway();
  browser = await launch();
  await server.cli(['member', 'add', '--name', 'Bob Builder', '--email', 'bob@member.test'], member);
});

after(async () => {
  await browser?.close();
  await gateway?.close();
  await server?.stop();
  await mail?.stop();
});

/** A guest writes to Bob; returns the mail with his link. */
async function linkMail(address) {
  await server.cli(['contact', 'bob', '--email', address, 'Hello Bob'], {});
  return mail.message(address, 1);
}

/** The guest's mail as his mail client shows it, with `href` as its link;
 * he clicks it. Returns the tab once it has left the mail. */
async function clickInMail(context, href) {
  const attribute = href.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
  const tab = await context.newPage();
  await tab.setContent(
    `<!doctype html><title>Mail</title><p>Bob Builder wrote to you.</p><a href="${attribute}">Open the conversation</a>`,
  );
  await tab.getByRole('link', { name: 'Open the conversation' }).click();
  await tab.waitForURL((url) => url.origin === server.base);
  return tab;
}

async function checkA11y(page, name) {
  await page.evaluate(AXE);
  const result = await page.evaluate(() => globalThis.axe.run());
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help}`), [], `${name}: accessibility violations`);
  await page.screenshot({ path: resolve(ARTIFACTS, `${name}.png`), fullPage: true });
}

test('rewritten and decorated links open the link page, and the address bar keeps no key', async () => {
  const link = linkIn(await linkMail('ann@guest.test'));
  const [site, fragment] = link.split('#');
  assert.equal(site, `${server.base}/open`);
  const forms = {
    'Safe Links, # encoded once': gateway.rewrite(`${site}%23${fragment}`),
    'Safe Links, # encoded twice': gateway.rewrite(`${site}%2523${fragment}`),
    'Safe Links, with the > after it': gateway.rewrite(`${site}%23${fragment}%3E`),
    'a > glued to the end': `${link}>`,
    'a %3E glued to the end': `${link}%3E`,
    'a full stop after it': `${link}.`,
    'a closing parenthesis after it': `${link})`,
    'a closing bracket and a quote after it': `${link}]"`,
  };
  for (const [form, href] of Object.entries(forms)) {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const visited = [];
    context.on('request', (r) => visited.push(r.url()));
    const page = await clickInMail(context, href);
    await page.getByRole('heading', { name: 'Bob Builder wrote to you' }).waitFor();
    assert.equal(page.url(), `${server.base}/open`, `${form}: the address bar`);
    // The page read the key: it asked the server about this link's grant.
    assert.ok(visited.some((u) => u.endsWith('/api/v1/grants/peek')), `${form}: no peek`);
    await context.close();
  }
});

test('without WebAssembly the page says why and what to do, and the link stays unused', async () => {
  const message = await linkMail('carl@guest.test');
  // Lockdown Mode turns off the JavaScript JIT and WebAssembly; so does
  // V8's --jitless, which leaves no `WebAssembly` object at all (today's V8
  // has no flag that hides WebAssembly alone: --noexpose_wasm is gone).
  const noWasm = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [...CHROMIUM_ARGS, '--js-flags=--jitless'],
    timeout: 60_000,
  });
  try {
    const context = await noWasm.newContext({ viewport: { width: 390, height: 844 } });
    const requested = [];
    context.on('request', (r) => requested.push(new URL(r.url()).pathname));
    const page = await clickLinkInMail(context, message);
    assert.equal(await page.evaluate(() => typeof WebAssembly), 'undefined');
    await page.getByRole('heading', { name: 'This browser cannot open the conversation' }).waitFor();
    const text = await page.locator('main').innerText();
    assert.match(text, /Lockdown Mode/);
    assert.match(text, /another browser or on another device/);
    assert.match(text, /not used up/);
    assert.doesNotMatch(text, /reload/i, 'reloading cannot help');
    assert.equal(page.url(), `${server.base}/open`);
    await checkA11y(page, 'no-webassembly');
    // Nothing about the link reached the server, and the bundle was not fetched.
    assert.deepEqual(
      requested.filter((p) => p.startsWith('/api/') || p.endsWith('.wasm')),
      [],
      requested.join(' '),
    );
    // The contact page, whose address a member gave out, says the same.
    const contact = await clickInMail(context, `${server.base}/m/bob`);
    await contact.getByRole('heading', { name: 'This browser cannot send your message' }).waitFor();
    assert.doesNotMatch(await contact.locator('main').innerText(), /reload/i);
    await context.close();
  } finally {
    await noWasm.close();
  }
  // Well past the grace window a redeemed link would be dead by now; this
  // one opens in a browser that has WebAssembly.
  await new Promise((ok) => setTimeout(ok, (GRACE_SECS + 1) * 1000));
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await clickLinkInMail(context, message);
  await page.getByRole('heading', { name: 'Bob Builder wrote to you' }).waitFor();
  await context.close();
});

test('an unknown address gets the styled 404 page with a way home', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const tab = await context.newPage();
  await tab.setContent(`<!doctype html><title>Mail</title><a href="${server.base}/no/such/page">a page</a>`);
  const [response] = await Promise.all([
    tab.waitForNavigation(),
    tab.getByRole('link', { name: 'a page' }).click(),
  ]);
  assert.equal(response.status(), 404);
  await tab.getByRole('heading', { name: 'There is no page at this address' }).waitFor();
  // The site's stylesheet is applied (the page's column is 42rem wide at most).
  const maxWidth = await tab.locator('main').evaluate((main) => getComputedStyle(main).maxWidth);
  assert.equal(maxWidth, '672px');
  await checkA11y(tab, 'not-found');
  await tab.getByRole('link', { name: 'Go to the home page' }).click();
  await tab.waitForURL(`${server.base}/`);
  await context.close();
});
