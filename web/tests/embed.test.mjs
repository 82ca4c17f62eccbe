// The contact form on the site's own pages (docs/embed.md), in headless
// Chromium against the real binary and maildev. latchkey runs at
// http://127.0.0.1:PORT; the site is a second server on loopback, reached
// as http://localhost:PORT2: another origin and another site, so the frame
// is a cross-site frame as it will be in production (no SameSite cookie
// reaches it). The member signs up and copies the snippet from his settings
// page; the site's page carries it; a guest writes through the frame and
// the member reads the message in his inbox. A page on an origin that is
// not in `embed.allowed_origins` gets no form.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from './support/browser.mjs';
import { startMail, startServer } from './support/latchkey.mjs';

const require = createRequire(import.meta.url);
const AXE = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts/screenshots');
const HANDLE = 'dora';
const PASSWORD = 'a member passphrase for frames';
const guestEmail = 'ann@guest.test';

let browser, mail, server, site, stranger;
const pageErrors = [];

/** A website on loopback that serves one page, `/team`, with `body` in it
 * (set by the test), reached by the browser as http://localhost:PORT. */
async function startSite() {
  const served = { body: '' };
  const http = createServer((req, res) => {
    if (new URL(req.url, 'http://x').pathname !== '/team') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Our team</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="margin:0 8px"><h1>Our team</h1><p>Write to us below.</p>
<div style="height:1200px">(The team's story, longer than a screen.)</div>${served.body}<p>Thanks.</p></body></html>`);
  });
  await new Promise((ok) => http.listen(0, '127.0.0.1', ok));
  const origin = `http://localhost:${http.address().port}`;
  return {
    origin,
    page: `${origin}/team`,
    served,
    close: () => new Promise((ok) => http.close(ok)),
  };
}

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  mail = await startMail();
  site = await startSite();
  stranger = await startSite();
  server = await startServer(mail, { LATCHKEY_EMBED__ALLOWED_ORIGINS: site.origin });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    // localhost, the site, at the IPv4 address its servers listen on.
    args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP localhost 127.0.0.1'],
    timeout: 60_000,
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await site?.close();
  await stranger?.close();
  await mail?.stop();
  assert.deepEqual(pageErrors, []);
});

async function newPage({ width = 390, locale = 'en-US', clipboard = false } = {}) {
  const context = await browser.newContext({
    viewport: { width, height: 844 },
    locale,
    ...(clipboard ? { permissions: ['clipboard-read', 'clipboard-write'] } : {}),
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e}`));
  return page;
}

/** The member signs up on latchkey and opens his settings by clicking. */
async function memberOnSettings() {
  const page = await newPage({ clipboard: true });
  await page.goto(`${server.base}/`);
  await page.getByRole('main').getByRole('link', { name: 'Sign up' }).click();
  await page.getByLabel('Handle').fill(HANDLE);
  await page.getByLabel('Display name').fill('Dora');
  await page.getByLabel('E-mail address').fill('dora@member.test');
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Repeat the password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create my account' }).click();
  await page.getByRole('heading', { name: 'Save your recovery key' }).waitFor({ timeout: 60_000 });
  await page.getByLabel('I have saved my recovery key somewhere safe').check();
  await page.getByRole('button', { name: 'Continue to my inbox' }).click();
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  await page.getByRole('navigation').getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor({ timeout: 60_000 });
  return page;
}

/** How much taller the framed page is than its frame (≤ 0: it fits). */
async function overflowOf(page) {
  const frame = page.frameLocator('iframe');
  await frame.getByRole('button', { name: /^(Send|Senden)$/ }).waitFor({ timeout: 30_000 });
  const height = await page.locator('iframe').evaluate((f) => f.clientHeight);
  const inner = page.frames().find((f) => f.url().includes('/embed/m/'));
  // The page's content, not the frame's viewport (scrollHeight is at least that).
  const needed = await inner.evaluate(() => Math.ceil(document.getElementById('app').getBoundingClientRect().bottom + window.scrollY));
  return { needed, height, overflow: needed - height };
}

let snippet;

test('the member copies the frame snippet from his settings page', async () => {
  const page = await memberOnSettings();
  const section = page.getByRole('region', { name: 'Contact form on the site\'s pages' });
  await section.waitFor();
  // The page names the site that may show it.
  await section.getByText(`Pages on ${site.origin} may show your contact form`).waitFor();
  // A new name is the frame's new title at once.
  const snippetBox = page.locator('#embed-snippet');
  for (const name of ['Dora Explorer', 'Dora']) {
    await page.getByLabel('Display name').fill(name);
    await page.getByRole('button', { name: 'Save name' }).click();
    const title = ` title="Write to ${name}" `;
    for (let i = 0; i < 100 && !(await snippetBox.inputValue()).includes(title); i++) await page.waitForTimeout(100);
    assert.ok((await snippetBox.inputValue()).includes(title), await snippetBox.inputValue());
  }
  await section.getByRole('button', { name: 'Copy the form\'s HTML' }).click();
  await section.getByText('Copied.').waitFor();
  snippet = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(snippet, await page.locator('#embed-snippet').inputValue());
  assert.match(snippet, new RegExp(`^<iframe src="${server.base}/embed/m/${HANDLE}" title="Write to Dora" `));
  assert.match(snippet, / sandbox="allow-scripts allow-forms allow-same-origin allow-popups allow-popups-to-escape-sandbox"/);
  assert.match(snippet, / referrerpolicy="no-referrer"/);
  const height = Number(/ height="(\d+)"/.exec(snippet)[1]);
  await section.getByText(`The frame is ${height} pixels high`).waitFor();
  await page.evaluate(AXE);
  const result = await page.evaluate(() => globalThis.axe.run());
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help}`), [], 'accessibility violations on the settings page');
  await page.screenshot({ path: resolve(ARTIFACTS, 'embed-member-settings.png'), fullPage: true });
  await section.screenshot({ path: resolve(ARTIFACTS, 'embed-member-section.png') });
  site.served.body = snippet;
  stranger.served.body = snippet;
  await page.context().close();
});

test('a guest writes through the frame on the site and the member reads it', async () => {
  assert.ok(snippet, 'needs the snippet from the first test');
  const guest = await newPage();
  const requests = [];
  guest.on('request', (r) => requests.push(r));
  const loaded = [];
  guest.on('requestfinished', (r) => loaded.push(r));
  await guest.goto(site.page);
  const frame = guest.frameLocator('iframe');
  await frame.getByRole('heading', { name: 'Write to Dora' }).waitFor({ timeout: 30_000 });
  // Compact: no language switcher, and the form fits the frame.
  assert.equal(await frame.locator('footer').count(), 0);
  const fit = await overflowOf(guest);
  console.log(`framed form at 390 px: ${fit.needed} px of ${fit.height}`);
  assert.ok(fit.overflow <= 0, `the form needs ${fit.needed} px, the frame is ${fit.height}`);
  // The frame, below the fold, did not scroll the site's page to itself
  // (no focus moved into it while the guest did nothing).
  assert.equal(await guest.evaluate(() => window.scrollY), 0);
  // The framed form costs what the guest pages may (55 KB).
  let transferred = 0;
  for (const r of loaded.filter((r) => r.url().startsWith(server.base))) transferred += (await r.sizes()).responseBodySize;
  console.log(`framed form: ${transferred} B transferred (gzip)`);
  assert.ok(transferred <= 55_000, `${transferred} B`);
  // The frame was asked for without naming the site's page.
  const framed = requests.find((r) => r.url().includes('/embed/m/'));
  assert.equal((await framed.allHeaders()).referer, undefined);
  const inner = guest.frames().find((f) => f.url().includes('/embed/m/'));
  await inner.evaluate(AXE);
  const result = await inner.evaluate(() => globalThis.axe.run());
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help}`), [], 'accessibility violations in the frame');

  // Its one link opens the form in a window of its own, not in the frame.
  const [popup] = await Promise.all([
    guest.context().waitForEvent('page'),
    frame.getByRole('link', { name: 'Open this form in a window of its own' }).click(),
  ]);
  await popup.waitForURL(`${server.base}/m/${HANDLE}`);
  await popup.getByRole('heading', { name: 'Write to Dora' }).waitFor();
  await popup.close();
  assert.ok(inner.url().endsWith(`/embed/m/${HANDLE}`), inner.url());

  await frame.getByLabel('Your e-mail address').fill(guestEmail);
  await frame.getByLabel('Your name (optional)').fill('Ann Guest');
  await frame.getByLabel('Message', { exact: true }).fill('Hello Dora, from your team page.');
  await frame.getByRole('button', { name: 'Send' }).click();
  await frame.getByRole('heading', { name: 'Sent' }).waitFor({ timeout: 30_000 });
  await frame.getByText('Open the link in that e-mail').waitFor();
  await guest.screenshot({ path: resolve(ARTIFACTS, 'embed-guest-sent.png'), fullPage: true });
  // The guest's link arrives as from the contact page.
  const message = await mail.message(guestEmail, 1);
  assert.match(message.text, /\/open#k1\./);

  // The member reads it in his inbox.
  const member = await newPage();
  await member.goto(`${server.base}/signin`);
  await member.getByLabel('Handle').fill(HANDLE);
  await member.getByLabel('Password').fill(PASSWORD);
  await member.getByRole('button', { name: 'Sign in', exact: true }).click();
  const inbox = member.getByRole('list', { name: 'Conversations' });
  const row = inbox.getByRole('listitem').filter({ hasText: `Ann Guest <${guestEmail}>` });
  await row.waitFor({ timeout: 60_000 });
  await row.getByRole('link').click();
  await member.getByRole('list', { name: 'Messages' }).getByText('Hello Dora, from your team page.').waitFor();
  await member.context().close();
  await guest.context().close();
});

test('the form fits its frame on a desktop and in German', async () => {
  assert.ok(snippet, 'needs the snippet from the first test');
  for (const [width, locale] of [[1280, 'en-US'], [1280, 'de-DE'], [390, 'de-DE'], [360, 'de-DE'], [320, 'en-US'], [320, 'de-DE']]) {
    const page = await newPage({ width, locale });
    await page.goto(site.page);
    const fit = await overflowOf(page);
    console.log(`framed form at ${width} px, ${locale}: ${fit.needed} px of ${fit.height}`);
    assert.ok(fit.overflow <= 0, `${width} px, ${locale}: the form needs ${fit.needed} px, the frame is ${fit.height}`);
    await page.screenshot({ path: resolve(ARTIFACTS, `embed-guest-${width}-${locale}.png`), fullPage: true });
    await page.context().close();
  }
});

test('a page on an origin not in the list cannot frame the form, nor any page', async () => {
  assert.ok(snippet, 'needs the snippet from the first test');
  const page = await newPage();
  const refusals = [];
  page.on('console', (m) => {
    if (/frame-ancestors/.test(m.text())) refusals.push(m.text());
  });
  await page.goto(stranger.page);
  await page.getByRole('heading', { name: 'Our team' }).waitFor();
  for (let i = 0; i < 100 && refusals.length === 0; i++) await page.waitForTimeout(100);
  assert.equal(refusals.length, 1, refusals.join('\n'));
  assert.match(refusals[0], new RegExp(`frame-ancestors ${site.origin}`));
  // The frame holds Chromium's error page, not the form.
  const inner = page.frames().find((f) => f !== page.mainFrame());
  assert.ok(!inner.url().startsWith(server.base), inner.url());
  assert.equal(await page.frameLocator('iframe').getByRole('button', { name: 'Send' }).count(), 0);
  await page.context().close();

  // The listed site cannot frame the plain contact page (or any other).
  site.served.body = snippet.replace(`/embed/m/${HANDLE}`, `/m/${HANDLE}`);
  const other = await newPage();
  const refused = [];
  other.on('console', (m) => {
    if (/frame-ancestors 'none'/.test(m.text())) refused.push(m.text());
  });
  await other.goto(site.page);
  for (let i = 0; i < 100 && refused.length === 0; i++) await other.waitForTimeout(100);
  assert.equal(refused.length, 1);
  assert.equal(await other.frameLocator('iframe').getByRole('button', { name: 'Send' }).count(), 0);
  site.served.body = snippet;
  await other.context().close();
});
