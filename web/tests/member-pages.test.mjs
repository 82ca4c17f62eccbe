// The member's pages in headless Chromium against the real binary, with
// the guest's side driven through the guest pages in a second browser
// context and the links taken from the mail that maildev received.
// Everyone moves as a person does: one address typed to enter the site,
// then clicks on links and buttons; a link from a mail is clicked in the
// mail (support/person.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { launch } from './support/browser.mjs';
import { startMail, startServer } from './support/latchkey.mjs';
import { clickLinkInMail, clickLinkInText } from './support/person.mjs';

const require = createRequire(import.meta.url);
const AXE = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts/screenshots');
const CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const HANDLE = 'dora';
const PASSWORD = 'first member passphrase';
const NEW_PASSWORD = 'second member passphrase';
const guestEmail = 'ann@guest.test';
const XSS = [
  '<script>window.__pwned = 1</script>',
  '<img src=x onerror="window.__pwned = 2">',
  '<a href="javascript:window.__pwned = 3">click me</a>',
].join('\n');

let browser, mail, server;
const pageErrors = [];
const thirdParty = [];

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  mail = await startMail();
  // Every e-mailed link is sent (no coalescing), so that each step has its mail.
  server = await startServer(mail, { LATCHKEY_LINKS__COALESCE_SECS: '0' });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await mail?.stop();
});

/** A fresh browser profile; every tab in it is watched. */
async function newContext({ clipboard = false } = {}) {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    ...(clipboard ? { permissions: ['clipboard-read', 'clipboard-write'] } : {}),
  });
  context.on('page', watch);
  return context;
}

async function newPage(options) {
  const page = await (await newContext(options)).newPage();
  watch(page);
  return page;
}

const watched = new WeakSet();

/** Records a tab's requests to third parties, its errors and its console errors. */
function watch(page) {
  if (watched.has(page)) return;
  watched.add(page);
  page.on('request', (r) => {
    // A mail shown in a tab (support/person.mjs) is no request.
    if (!r.url().startsWith(`${server.base}/`) && !r.url().startsWith('about:')) thirdParty.push(r.url());
  });
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e}`));
  page.on('console', (m) => {
    // Expected: the 401 of GET /me on a signed-out page, the 404 of a
    // conversation that is not there, and the connection the test cuts.
    const url = m.location().url ?? '';
    const expected =
      (/status of 401/.test(m.text()) && url.endsWith('/api/v1/me')) ||
      (/status of 404/.test(m.text()) && url.includes('/api/v1/conversations/')) ||
      /ERR_INTERNET_DISCONNECTED/.test(m.text());
    if (m.type() === 'error' && !expected) pageErrors.push(`${page.url()}: ${m.text()} (${url})`);
  });
}

async function checkA11y(page, name) {
  await page.evaluate(AXE);
  const result = await page.evaluate(() => globalThis.axe.run());
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`),
    [],
    `${name}: accessibility violations`,
  );
  // Nothing sticks out sideways at phone width.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${name}: ${overflow}px wider than the 390px screen`);
  await page.screenshot({ path: resolve(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** The guest, on a link page: types the address the link went to, opens. */
async function openAsGuest(page) {
  await page.getByLabel('Your e-mail address').fill(guestEmail);
  await page.getByRole('button', { name: 'Open conversation' }).click();
}

async function signIn(page, handle, password) {
  await page.getByLabel('Handle').fill(handle);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

test('a member signs up, reads and answers a guest, changes settings and password, unlocks, deletes', async () => {
  const t0 = Date.now();
  let recoveryKey = null;
  const page = await newPage({ clipboard: true });
  const messages = page.getByRole('list', { name: 'Messages' });

  // Home.
  await page.goto(`${server.base}/`);
  await page.getByRole('heading', { name: 'latchkey', level: 1 }).waitFor();
  await checkA11y(page, 'member-home');
  await page.getByRole('main').getByRole('link', { name: 'Sign up' }).click();

  // Sign-up, with the checks in words.
  await page.getByRole('heading', { name: 'Create your account' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/signup');
  await checkA11y(page, 'member-signup');
  await page.getByLabel('Handle').fill(HANDLE);
  await page.getByLabel('Display name').fill('Dora');
  await page.getByLabel('E-mail address').fill('dora@member.test');
  await page.getByLabel('Password', { exact: true }).fill('too short');
  await page.getByLabel('Repeat the password').fill('too short');
  await page.getByRole('button', { name: 'Create my account' }).click();
  await page.getByText('The password needs at least 10 characters.').waitFor();
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Repeat the password').fill(`${PASSWORD}!`);
  await page.getByRole('button', { name: 'Create my account' }).click();
  await page.getByText('The two passwords differ.').waitFor();
  await page.getByLabel('Repeat the password').fill(PASSWORD);
  const signUpStarted = Date.now();
  await page.getByRole('button', { name: 'Create my account' }).click();

  // The recovery key, once, and a box to tick before going on.
  {
    await page.getByRole('heading', { name: 'Save your recovery key' }).waitFor({ timeout: 60_000 });
    console.log(`sign-up (OPAQUE + Argon2id in the worker, two requests): ${Date.now() - signUpStarted} ms`);
    const key = (await page.locator('#recovery-key').textContent()).trim();
    recoveryKey = key;
    // No way around the box: the header offers no link away.
    assert.equal(await page.getByRole('navigation', { name: 'Account' }).getByRole('link').count(), 0);
    assert.match(key, /^LKR1-[0-9A-Z-]+$/, key);
    await page.getByRole('button', { name: 'Copy recovery key' }).click();
    await page.getByText('Copied.').waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key);
    await checkA11y(page, 'member-recovery-key');
    await page.getByRole('button', { name: 'Continue to my inbox' }).click();
    await page.getByText('Save the recovery key first, then tick the box.').waitFor();
    assert.equal(new URL(page.url()).pathname, '/signup');
    await page.getByLabel('I have saved my recovery key somewhere safe').check();
    await page.getByRole('button', { name: 'Continue to my inbox' }).click();
  }
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/inbox');
  await page.getByText('No conversations yet.').waitFor();

  // A guest writes from the contact page (whose address the member gave him).
  let guest = await newPage();
  await guest.goto(`${server.base}/m/${HANDLE}`);
  await guest.getByRole('heading', { name: 'Write to Dora' }).waitFor();
  const guestPrint = /Key fingerprint: ([0-9A-Z ]+)\./.exec(await guest.getByText(/Key fingerprint: /).textContent())[1];
  await guest.getByLabel('Your e-mail address').fill(guestEmail);
  await guest.getByLabel('Your name (optional)').fill('Ann Guest');
  await guest.getByLabel('Message', { exact: true }).fill('Hello Dora, from the contact page.');
  await guest.getByRole('button', { name: 'Send' }).click();
  await guest.getByRole('heading', { name: 'Sent' }).waitFor();

  // The inbox shows the guest's address and name, decrypted in the browser.
  await page.getByRole('button', { name: 'Refresh' }).click();
  const inbox = page.getByRole('list', { name: 'Conversations' });
  const row = inbox.getByRole('listitem').filter({ hasText: 'Ann Guest <ann@guest.test>' });
  await row.waitFor();
  assert.match(await row.textContent(), /address not yet confirmed/);
  assert.match(await row.textContent(), /1 unread/);
  await checkA11y(page, 'member-inbox');

  // The conversation; a reply with the default: the server e-mails a link.
  await row.getByRole('link').click();
  await page.getByRole('heading', { name: 'Conversation with Ann Guest' }).waitFor();
  assert.match(new URL(page.url()).pathname, /^\/conversations\/[0-9a-f]{32}$/);
  const conversationPath = new URL(page.url()).pathname;
  await messages.getByText('Hello Dora, from the contact page.').waitFor();
  assert.match(await page.getByText(/^Address/).textContent(), /ann@guest\.test.*not yet confirmed/);
  await checkA11y(page, 'member-conversation');
  assert.equal(await page.getByLabel('E-mail the guest a link').isChecked(), true);
  // The first upload's answer is lost on the way back: the page says so in
  // words, and pressing again sends the same bytes (the server keeps one).
  let lost = 0;
  await page.context().route('**/api/v1/conversations/*/messages', async (route) => {
    if (route.request().method() === 'POST' && lost++ === 0) {
      await route.fetch();
      return route.abort('internetdisconnected');
    }
    return route.continue();
  });
  await page.getByLabel('Your reply').fill('Hello Ann, from the member page.');
  await page.getByRole('button', { name: 'Send reply' }).click();
  await page.getByText(/^Not sent: The server cannot be reached/).waitFor();
  assert.equal(await page.getByLabel('Your reply').inputValue(), 'Hello Ann, from the member page.');
  await page.getByRole('button', { name: 'Send reply' }).click();
  await page.getByText(/^Sent\./).waitFor();
  await page.context().unroute('**/api/v1/conversations/*/messages');
  assert.equal(lost, 2);

  // The guest opens that link from the mail, reads and replies (twice, the
  // second time with markup).
  guest = await clickLinkInMail(guest.context(), await mail.message(guestEmail, 2));
  await openAsGuest(guest);
  const guestMessages = guest.getByRole('list', { name: 'Messages' });
  await guestMessages.getByText('Hello Ann, from the member page.').waitFor();
  assert.equal(await guestMessages.getByText('Hello Ann, from the member page.').count(), 1, 'the retried reply is there once');
  await guest.getByLabel('Your reply').fill('Thanks, Dora!');
  await guest.getByRole('button', { name: 'Send reply' }).click();
  await guest.getByText(/^Sent\./).waitFor();
  await guest.getByLabel('Your reply').fill(XSS);
  await guest.getByRole('button', { name: 'Send reply' }).click();
  await guestMessages.getByText('click me').waitFor();

  // The member sees the replies, as text; the address is now confirmed.
  await page.getByRole('button', { name: 'Check for new messages' }).click();
  await messages.getByText('Thanks, Dora!').waitFor();
  const bodies = await page.locator('.message .body').allTextContents();
  assert.equal(bodies.length, 4);
  assert.equal(bodies.at(-1), XSS);
  assert.equal(await page.locator('main img, main script, main a[href^="javascript"]').count(), 0);
  assert.equal(await page.evaluate(() => globalThis.__pwned), undefined);
  assert.doesNotMatch(await page.getByText(/^Address/).textContent(), /not yet confirmed/);
  // Message bodies are text nodes only: no element of any kind inside.
  assert.equal(await page.locator('.message .body *').count(), 0);
  await page.screenshot({ path: resolve(ARTIFACTS, 'member-markup-as-text.png'), fullPage: true });

  // "I'll deliver the link myself": a link to copy and a mailto, never mailed.
  const posted = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/messages')) posted.push(r.postData() ?? '');
  });
  await page.getByLabel('I’ll deliver the link myself').check();
  await page.getByLabel('Your reply').fill('Delivered by hand.');
  await page.getByRole('button', { name: 'Send reply' }).click();
  await page.getByText('Sent. Deliver the link below to Ann Guest yourself.').waitFor();
  const own = await page.getByLabel('Link', { exact: true }).inputValue();
  assert.ok(own.startsWith(`${server.base}/open#k1.`), own);
  await page.getByRole('button', { name: 'Copy link' }).click();
  await page.getByText('Copied.').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), own);
  const mailto = await page.getByRole('link', { name: `Write the e-mail to ${guestEmail}` }).getAttribute('href');
  assert.ok(mailto.startsWith('mailto:ann%40guest.test?subject='), mailto);
  assert.ok(decodeURIComponent(mailto.split('body=')[1]).includes(own), mailto);
  await checkA11y(page, 'member-deliver-myself');
  for (const m of await mail.all()) assert.ok(!m.text.includes(own.split('#')[1]), 'the server mailed a hand-delivered link');
  // ... and the request that posted it carried no link at all.
  assert.ok(posted.length >= 1 && posted.every((b) => !('link' in JSON.parse(b))), posted.join('\n'));
  assert.ok(posted.every((b) => !b.includes(own.split('#')[1].slice(3))), 'the link key reached the server');
  // The member's own mail program sends what the mailto link holds; the
  // guest clicks the link in it.
  const handWritten = decodeURIComponent(mailto.split('body=')[1]);
  const byHand = await clickLinkInText(await newContext(), handWritten);
  await openAsGuest(byHand);
  await byHand.getByRole('list', { name: 'Messages' }).getByText('Delivered by hand.').waitFor();
  await byHand.context().close();

  // The guest asks for a new link; the member's inbox answers it by itself.
  const asked = await fetch(`${server.base}/api/v1/link-requests`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: guestEmail, handle: HANDLE }),
  });
  assert.equal(asked.status, 202);
  await page.getByRole('link', { name: 'Inbox', exact: true }).click();
  await inbox.getByText('new link sent to the guest').waitFor();
  await page.getByText('Sent 1 guest the new link they asked for.').waitFor();
  const requested = await mail.message(guestEmail, 3);
  // One request, one link: no second mail follows.
  await new Promise((ok) => setTimeout(ok, 1500));
  assert.equal((await mail.waitFor(guestEmail, 3)).length, 3);
  const later = await clickLinkInMail(await newContext(), requested);
  await openAsGuest(later);
  await later.getByRole('list', { name: 'Messages' }).getByText('Delivered by hand.').waitFor();
  await later.context().close();

  // Settings: rename, contact address and button, the fingerprint.
  await page.getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
  await page.locator('#fingerprint').waitFor();
  assert.equal((await page.locator('#fingerprint').textContent()).trim(), guestPrint);
  await checkA11y(page, 'member-settings');
  await page.getByLabel('Display name').fill('Dora Explorer');
  await page.getByRole('button', { name: 'Save name' }).click();
  await page.getByText('Saved.').waitFor();
  assert.equal((await (await fetch(`${server.base}/api/v1/members/${HANDLE}`)).json()).display_name, 'Dora Explorer');
  assert.equal(await page.getByLabel('Contact page address').inputValue(), `${server.base}/m/${HANDLE}`);
  const snippet = `<a href="${server.base}/m/${HANDLE}">Write to Dora Explorer</a>`;
  assert.equal(await page.getByLabel('HTML for a contact button').inputValue(), snippet);
  await page.getByRole('button', { name: 'Copy the HTML' }).click();
  await page.locator('#snippet ~ .copied').getByText('Copied.').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), snippet);

  // A new recovery key (it wants the current password: a fresh sign-in).
  {
    const recoveryForm = page.getByRole('form', { name: 'Recovery key' });
    await recoveryForm.getByLabel('Current password').fill('not my password');
    await recoveryForm.getByRole('button', { name: 'Make a new recovery key' }).click();
    await recoveryForm.getByText('The current password is wrong.').waitFor({ timeout: 60_000 });
    await recoveryForm.getByLabel('Current password').fill(PASSWORD);
    await recoveryForm.getByRole('button', { name: 'Make a new recovery key' }).click();
    await page.locator('#recovery-key').waitFor({ timeout: 60_000 });
    const fresh = (await page.locator('#recovery-key').textContent()).trim();
    assert.match(fresh, /^LKR1-/);
    assert.notEqual(fresh, recoveryKey);
  }

  // Password change, then sign out and in with the new password.
  await page.getByRole('form', { name: 'Password' }).getByLabel('Current password').fill(PASSWORD);
  await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel('Repeat the new password').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByText(/^Your password is changed\./).waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('heading', { name: 'Signed out' }).waitFor();
  assert.equal((await page.request.get(`${server.base}/api/v1/me`)).status(), 401);
  await page.getByRole('link', { name: 'Sign in again' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await checkA11y(page, 'member-signin');
  // A wrong password and an unknown handle get the same words.
  await signIn(page, HANDLE, PASSWORD);
  const status = page.getByRole('form', { name: 'Sign in' }).getByRole('status');
  await status.getByText('The handle or the password is wrong.').waitFor({ timeout: 60_000 });
  await signIn(page, 'nobody-here', NEW_PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor({ state: 'visible' });
  await page.waitForFunction(() => !document.querySelector('form button[type=submit]')?.disabled);
  assert.equal(await status.textContent(), 'The handle or the password is wrong.');
  await signIn(page, HANDLE, NEW_PASSWORD);
  await page.getByRole('heading', { name: 'Inbox' }).waitFor({ timeout: 60_000 });
  await page.getByRole('link', { name: 'Ann Guest <ann@guest.test>' }).click();
  await messages.getByText('Delivered by hand.').waitFor();
  assert.equal(await messages.getByText('Hello Dora, from the contact page.').count(), 1);

  // A reload ends the worker and the key: Unlock, not a full sign-in.
  await page.reload();
  await page.getByRole('heading', { name: 'Unlock your messages' }).waitFor();
  assert.equal(new URL(page.url()).pathname, conversationPath);
  assert.equal(await page.getByLabel('Handle').inputValue(), HANDLE);
  await checkA11y(page, 'member-unlock');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Unlock' }).click();
  await page.getByText('The handle or the password is wrong.').waitFor({ timeout: 60_000 });
  await page.getByLabel('Password').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Unlock' }).click();
  await messages.getByText('Thanks, Dora!').waitFor({ timeout: 60_000 });

  // Delete the conversation, after a confirmation step: the word typed,
  // not only a button pressed.
  await page.getByRole('button', { name: 'Delete this conversation' }).click();
  await page.getByRole('button', { name: 'Keep it' }).click();
  assert.equal(await page.getByRole('button', { name: 'Yes, delete it for both of us' }).isVisible(), false);
  await page.getByRole('button', { name: 'Delete this conversation' }).click();
  await page.getByRole('button', { name: 'Yes, delete it for both of us' }).click();
  await page.getByText(/^Nothing was deleted\. To delete, type the word “delete”/).waitFor();
  await checkA11y(page, 'member-delete-confirm');
  await page.getByLabel('Type “delete” to confirm').fill('DELETE');
  await page.getByRole('button', { name: 'Yes, delete it for both of us' }).click();
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  await page.getByText('No conversations yet.').waitFor();
  const listed = await (await page.request.get(`${server.base}/api/v1/conversations`)).json();
  assert.deepEqual(listed.conversations, []);

  assert.deepEqual(pageErrors, []);
  console.log(`member story: ${Date.now() - t0} ms`);
});

test('member pages: every address of the route table answers, with production headers; no key code in the page bundle', async () => {
  // The server registers its member pages from web/routes.json, the file
  // the browser's router reads; each one must answer with the shell.
  const table = JSON.parse(await readFile(resolve(import.meta.dirname, '../routes.json'), 'utf8'));
  const pages = Object.keys(table.member).map((pattern) => pattern.replace(/\{[^}]+\}/g, '0'.repeat(32)));
  assert.ok(pages.includes('/inbox') && pages.includes(`/conversations/${'0'.repeat(32)}`), pages.join(' '));
  for (const path of [...pages, '/assets/member.js', '/assets/member-worker.js', '/assets/member.wasm']) {
    const response = await fetch(`${server.base}${path}`);
    assert.equal(response.status, 200, path);
    assert.equal(response.headers.get('content-security-policy'), CSP, path);
  }
  const html = await (await fetch(`${server.base}/signin`)).text();
  assert.doesNotMatch(html, /<script>|<style|style=/, 'no inline script or style');
  // The page's own bundle holds no crypto: the worker does.
  const page = await (await fetch(`${server.base}/assets/member.js`)).text();
  const worker = await (await fetch(`${server.base}/assets/member-worker.js`)).text();
  for (const name of ['openIdentity', 'sealIdentity', 'takeKek', 'member.wasm', '__wbindgen']) {
    assert.ok(!page.includes(name), `member.js contains ${name}`);
    assert.ok(worker.includes(name), `member-worker.js lacks ${name}`);
  }
  // And the guest's bundle none of the member's.
  const guestJs = await (await fetch(`${server.base}/assets/guest.js`)).text();
  assert.ok(!/member-worker|openIdentity|Registration/.test(guestJs));
});

test('a signed-out visitor of a member page is sent to sign in', async () => {
  const page = await newPage();
  // His first entry: a bookmark of the settings page.
  await page.goto(`${server.base}/settings`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/signin');
  await page.context().close();
});

test('a member who lost his password sets a new one with his recovery key', async () => {
  const page = await newPage();
  await page.goto(`${server.base}/`);
  await page.getByRole('main').getByRole('link', { name: 'Sign up' }).click();
  await page.getByLabel('Handle').fill('erin');
  await page.getByLabel('Display name').fill('Erin');
  await page.getByLabel('E-mail address').fill('erin@member.test');
  await page.getByLabel('Password', { exact: true }).fill('erin first passphrase');
  await page.getByLabel('Repeat the password').fill('erin first passphrase');
  await page.getByRole('button', { name: 'Create my account' }).click();
  await page.getByRole('heading', { name: 'Save your recovery key' }).waitFor({ timeout: 60_000 });
  const key = (await page.locator('#recovery-key').textContent()).trim();
  await page.getByLabel('I have saved my recovery key somewhere safe').check();
  await page.getByRole('button', { name: 'Continue to my inbox' }).click();
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();

  // Someone else's browser, the password forgotten.
  const other = await newPage();
  await other.goto(`${server.base}/`);
  await other.getByRole('main').getByRole('link', { name: 'Sign in' }).click();
  await other.getByRole('link', { name: 'Use your recovery key' }).click();
  await other.getByRole('heading', { name: 'Recover your account' }).waitFor();
  await checkA11y(other, 'member-recover');
  await other.getByLabel('Handle').fill('erin');
  await other.getByLabel('Recovery key').fill('LKR1-0000-0000-0000-0000-0000-0000-0000-0000');
  await other.getByLabel('New password', { exact: true }).fill('erin second passphrase');
  await other.getByLabel('Repeat the new password').fill('erin second passphrase');
  await other.getByRole('button', { name: 'Set the new password' }).click();
  await other.getByText(/does not belong to this handle/).waitFor({ timeout: 60_000 });
  await other.getByLabel('Recovery key').fill(key.toLowerCase());
  await other.getByRole('button', { name: 'Set the new password' }).click();
  await other.getByRole('heading', { name: 'Inbox' }).waitFor({ timeout: 60_000 });

  // The first browser's session ended: its next click lands on sign-in,
  // where the old password no longer works.
  assert.equal((await page.request.get(`${server.base}/api/v1/me`)).status(), 401);
  await page.getByRole('navigation').getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await signIn(page, 'erin', 'erin first passphrase');
  await page.getByRole('status').getByText('The handle or the password is wrong.').waitFor({ timeout: 60_000 });
  await signIn(page, 'erin', 'erin second passphrase');
  await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor({ timeout: 60_000 });
});


test('a tab whose cookie now belongs to another member drops its key', async () => {
  const first = await newPage();
  const signUp = async (page, handle) => {
    await page.goto(`${server.base}/`);
    await page.getByRole('navigation').getByRole('link', { name: 'Sign up' }).click();
    await page.getByLabel('Handle').fill(handle);
    await page.getByLabel('Display name').fill(handle);
    await page.getByLabel('E-mail address').fill(`${handle}@member.test`);
    await page.getByLabel('Password', { exact: true }).fill(`${handle} long passphrase`);
    await page.getByLabel('Repeat the password').fill(`${handle} long passphrase`);
    await page.getByRole('button', { name: 'Create my account' }).click();
    await page.getByLabel('I have saved my recovery key somewhere safe').check({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Continue to my inbox' }).click();
    await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  };
  await signUp(first, 'fay');
  // A second tab of the same browser signs up as someone else.
  const second = await first.context().newPage();
  await signUp(second, 'gus');
  // Back in the first tab: fay's key must not be used for gus's session.
  await first.getByRole('link', { name: 'Settings' }).click();
  await first.getByRole('heading', { name: 'Unlock your messages' }).waitFor();
  assert.equal(await first.getByLabel('Handle').inputValue(), 'gus');
});

test('after signing out, "Sign in again" and the header\'s "Sign in" both lead to signing in', async () => {
  const page = await newPage();
  await page.goto(`${server.base}/`);
  await page.getByRole('main').getByRole('link', { name: 'Sign up' }).click();
  await page.getByLabel('Handle').fill('hal');
  await page.getByLabel('Display name').fill('Hal');
  await page.getByLabel('E-mail address').fill('hal@member.test');
  await page.getByLabel('Password', { exact: true }).fill('hal long passphrase');
  await page.getByLabel('Repeat the password').fill('hal long passphrase');
  await page.getByRole('button', { name: 'Create my account' }).click();
  await page.getByLabel('I have saved my recovery key somewhere safe').check({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Continue to my inbox' }).click();
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  const signOut = async () => {
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('heading', { name: 'Signed out' }).waitFor();
  };

  // "Sign in again", on the screen that says he is signed out.
  await signOut();
  await page.getByRole('main').getByRole('link', { name: 'Sign in again' }).click();
  await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
  await signIn(page, 'hal', 'hal long passphrase');
  await page.getByRole('heading', { name: 'Inbox' }).waitFor({ timeout: 60_000 });

  // The header's "Sign in".
  await signOut();
  await page.getByRole('navigation').getByRole('link', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
  await signIn(page, 'hal', 'hal long passphrase');
  await page.getByRole('heading', { name: 'Inbox' }).waitFor({ timeout: 60_000 });
  await page.context().close();
});

// Last, so that it covers every test above.
test('no member page asked a third party for anything, and none failed', () => {
  assert.deepEqual(thirdParty, []);
  assert.deepEqual(pageErrors, []);
});
