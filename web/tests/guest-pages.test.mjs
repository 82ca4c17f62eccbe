// The guest's pages in headless Chromium against the real binary, with the
// links taken from mail that maildev received and clicked in it
// (support/person.mjs). The member's side is the latchkey CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { launch } from './support/browser.mjs';
import { linkIn, startMail, startServer } from './support/latchkey.mjs';
import { clickLinkInMail, clickLinkInText } from './support/person.mjs';

const require = createRequire(import.meta.url);
const AXE = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts/screenshots');
const GRACE_SECS = 5;
const member = { LATCHKEY_HANDLE: 'bob', LATCHKEY_PASSWORD: 'a long member passphrase' };
const guestEmail = 'ann@guest.test';
const XSS = [
  '<script>window.__pwned = 1</script>',
  '<img src=x onerror="window.__pwned = 2">',
  '<a href="javascript:window.__pwned = 3">click me</a>',
];

let browser, mail, server, memberFingerprint;
const requests = [];
const fragments = new Set();

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  mail = await startMail();
  server = await startServer(mail, { LATCHKEY_LINKS__GRACE_SECS: String(GRACE_SECS) });
  browser = await launch();
  const added = await server.cli(
    ['member', 'add', '--name', 'Bob Builder', '--email', 'bob@member.test'],
    member,
  );
  memberFingerprint = /key fingerprint (.+)$/m.exec(added)[1].trim();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await mail?.stop();
});

/** A fresh browser profile whose every request, in every tab, is recorded. */
async function guestContext() {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  context.on('request', (r) =>
    requests.push(
      r.allHeaders().then(
        (headers) => ({ url: r.url(), headers, body: r.postData() ?? '' }),
        () => ({ url: r.url(), headers: r.headers(), body: r.postData() ?? '' }),
      ),
    ),
  );
  return context;
}

async function guestPage() {
  return (await guestContext()).newPage();
}

async function checkA11y(page, name) {
  await page.evaluate(AXE);
  const result = await page.evaluate(() => globalThis.axe.run());
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.id}: ${v.help}`),
    [],
    `${name}: accessibility violations`,
  );
  await page.screenshot({ path: resolve(ARTIFACTS, `${name}.png`), fullPage: true });
}

function remember(link) {
  fragments.add(link.split('#')[1]);
  return link;
}

/** Types the address the link went to and presses "Open conversation". */
async function typeAddressAndOpen(page, email = guestEmail) {
  await page.getByLabel('Your e-mail address').fill(email);
  await page.getByRole('button', { name: 'Open conversation' }).click();
}

/** Clicks the link in `mail` (in a new tab of `context`), types the address, opens. */
async function openAndClick(context, mail, email = guestEmail) {
  remember(linkIn(mail));
  const page = await clickLinkInMail(context, mail);
  await page.getByRole('button', { name: 'Open conversation' }).waitFor();
  assert.ok(!page.url().includes('#'), 'the fragment left the address bar');
  await typeAddressAndOpen(page, email);
  await page.getByRole('list', { name: 'Messages' }).waitFor();
  return page;
}

test('a guest writes, opens his link, reads, replies, and deletes, all through the pages', async () => {
  // The contact page, whose address the member gave him.
  let page = await guestPage();
  await page.goto(`${server.base}/m/bob`);
  await page.getByRole('heading', { name: 'Write to Bob Builder' }).waitFor();
  // The fingerprint the page computed is the one the member was shown.
  const shownPrint = await page.getByText(/Key fingerprint: /).textContent();
  assert.ok(shownPrint.includes(memberFingerprint), `${shownPrint} vs ${memberFingerprint}`);
  await checkA11y(page, 'contact');
  await page.getByLabel('Your e-mail address').fill(guestEmail);
  await page.getByLabel('Your name (optional)').fill('Ann Guest');
  await page.getByLabel('Message', { exact: true }).fill('Hello Bob, from the contact page.');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.getByRole('heading', { name: 'Sent' }).waitFor();
  assert.ok(await page.getByText('Hello Bob, from the contact page.').isVisible());
  await checkA11y(page, 'contact-sent');

  // His link comes by e-mail. A scanner that renders it without clicking
  // does not use it up (one that merely fetches it cannot: the fragment
  // never leaves the client, and the page load changes nothing).
  const firstMail = await mail.message(guestEmail, 1);
  const first = remember(linkIn(firstMail));
  // (A scanner fetches the address from the mail; it clicks nothing.)
  const scanner = await guestPage();
  await scanner.goto(first);
  await scanner.getByRole('button', { name: 'Open conversation' }).waitFor();
  await scanner.context().close();

  // The landing page shows who wrote; only his address and the click open.
  page = await clickLinkInMail(page.context(), firstMail);
  await page.getByRole('heading', { name: 'Bob Builder wrote to you' }).waitFor();
  assert.ok(!page.url().includes('#'));
  await checkA11y(page, 'open-landing');
  const address = page.getByLabel('Your e-mail address');
  assert.equal(await address.getAttribute('type'), 'email');
  assert.equal(await address.getAttribute('autocomplete'), 'email');
  // A click without an address, and then a mistyped one, open nothing and
  // say why, under the field, where the focus stays.
  await page.getByRole('button', { name: 'Open conversation' }).click();
  await page.getByText('Type the e-mail address this link was sent to.').waitFor();
  await address.fill('ann@guest.tset');
  await address.press('Enter');
  const wrong = page.getByText(/^This link was sent to another address\./);
  await wrong.waitFor();
  const problemId = await wrong.getAttribute('id');
  assert.ok((await address.getAttribute('aria-describedby')).split(' ').includes(problemId));
  assert.equal(await address.getAttribute('aria-invalid'), 'true');
  assert.ok(await address.evaluate((input) => input === document.activeElement), 'the focus left the field');
  await checkA11y(page, 'open-wrong-address');
  await typeAddressAndOpen(page, ` ${guestEmail.toUpperCase()} `);
  const messages = page.getByRole('list', { name: 'Messages' });
  await messages.getByText('Hello Bob, from the contact page.').waitFor();
  await page.getByLabel('Your reply').fill('A second message from Ann.');
  await page.getByRole('button', { name: 'Send reply' }).click();
  await page.getByText(/^Sent\./).waitFor();
  await messages.getByText('A second message from Ann.').waitFor();
  await checkA11y(page, 'conversation');

  // The member reads (CLI) and answers with markup that must stay text.
  const inbox = await server.cli(['inbox'], member);
  const conversation = inbox.split(/\s+/)[0];
  assert.match(inbox, /2 message\(s\), 2 unread/);
  const read = await server.cli(['read', conversation], member);
  assert.match(read, /Ann Guest <ann@guest\.test>/);
  await server.cli(['send', conversation, XSS.join('\n')], member);
  const second = await mail.message(guestEmail, 2);
  page = await openAndClick(page.context(), second);
  const bodies = await page.locator('.message .body').allTextContents();
  assert.equal(bodies.at(-1), XSS.join('\n'));
  assert.equal(await page.locator('main img, main script, main a[href^="javascript"]').count(), 0);
  assert.equal(await page.evaluate(() => globalThis.__pwned), undefined);
  await page.screenshot({ path: resolve(ARTIFACTS, 'markup-as-text.png'), fullPage: true });

  // A reload inside the grace window opens it again.
  await page.reload();
  await page.getByRole('list', { name: 'Messages' }).getByText('A second message from Ann.').waitFor();

  // After the grace window: a plain explanation and a new-link form.
  await new Promise((ok) => setTimeout(ok, (GRACE_SECS + 1.5) * 1000));
  const later = await clickLinkInMail(await guestContext(), second);
  await later.getByRole('heading', { name: 'This link has been used' }).waitFor();
  await checkA11y(later, 'link-used');
  await later.getByLabel('Your e-mail address').fill(guestEmail);
  await later.getByRole('button', { name: 'Send me a new link' }).click();
  await later.getByText(/If this address has a conversation here/).waitFor();
  assert.match(await server.cli(['fulfil'], member), /1 new link\(s\) sent/);
  const third = await openAndClick(later.context(), await mail.message(guestEmail, 3));
  await third.getByText('A second message from Ann.').waitFor();

  // "I'll deliver the link myself": the server never saw this link.
  const sent = await server.cli(['send', conversation, 'Delivered by hand.', '--deliver-myself'], member);
  const own = remember(sent.split(/\s+/).find((w) => w.includes('/open#k1.')));
  for (const m of await mail.all()) assert.ok(!m.text.includes(own.split('#')[1]));
  // The member hands it over in a message of his own; the guest clicks it there.
  const byHand = await clickLinkInText(await guestContext(), `Hello Ann, my reply is here: ${own}`);
  await typeAddressAndOpen(byHand);
  await byHand.getByRole('list', { name: 'Messages' }).waitFor();
  await byHand.getByText('Delivered by hand.').waitFor();

  // The guest deletes the conversation, for both sides, once he has typed
  // the word: the button alone deletes nothing.
  await byHand.getByRole('button', { name: 'Delete this conversation' }).click();
  const word = byHand.getByLabel('Type “delete” to confirm');
  assert.ok(await word.evaluate((input) => input === document.activeElement));
  await byHand.getByRole('button', { name: 'Yes, delete it for both of us' }).click();
  await byHand.getByText(/^Nothing was deleted\. To delete, type the word “delete”/).waitFor();
  await word.fill('remove');
  await byHand.getByRole('button', { name: 'Yes, delete it for both of us' }).click();
  await checkA11y(byHand, 'delete-confirm');
  assert.match(await server.cli(['inbox'], member), /4 message\(s\)/);
  await word.fill(' Delete ');
  await byHand.getByRole('button', { name: 'Yes, delete it for both of us' }).click();
  await byHand.getByRole('heading', { name: 'Conversation deleted' }).waitFor();
  assert.match(await server.cli(['inbox'], member), /no conversations/);

  // No request ever carried a link's fragment: not in a URL, a header
  // (Referer) or a body. The one exception is by design: the first-contact
  // request hands the server the guest's first link to e-mail to him.
  assert.ok(requests.length > 20);
  // And every request went to this server: nothing to a third party.
  for (const r of await Promise.all(requests)) {
    assert.ok(r.url.startsWith(`${server.base}/`), `a request left the site: ${r.url}`);
  }
  const firstFragment = first.split('#')[1];
  for (const r of await Promise.all(requests)) {
    const contact = new URL(r.url).pathname === '/api/v1/members/bob/conversations';
    const url = r.url + JSON.stringify(r.headers);
    const body = r.body;
    assert.ok(!decodeURIComponent(r.url).toLowerCase().includes(guestEmail), `a request URL carried the address: ${r.url}`);
    for (const fragment of fragments) {
      const mayCarry = contact && fragment === firstFragment;
      for (const secret of [fragment, fragment.slice(3)]) {
        assert.ok(!url.includes(secret), `a request URL or header carried a link: ${r.url}`);
        assert.ok(mayCarry || !body.includes(secret), `a request body carried a link: ${r.url}`);
      }
    }
  }
});

test('the guest link page transfers at most 55 KB and no member code', async () => {
  await server.cli(['contact', 'bob', '--email', 'carl@guest.test', 'Size check'], {});
  const message = await mail.message('carl@guest.test', 1);
  remember(linkIn(message));
  const context = await guestContext();
  const loaded = [];
  context.on('requestfinished', (r) => loaded.push(r));
  const page = await clickLinkInMail(context, message);
  await page.getByRole('button', { name: 'Open conversation' }).waitFor();
  let transferred = 0;
  for (const r of loaded) {
    const sizes = await r.sizes();
    transferred += sizes.responseBodySize;
  }
  const urls = loaded.map((r) => new URL(r.url()).pathname);
  assert.ok(urls.includes('/assets/guest.wasm'), urls.join(' '));
  assert.ok(!urls.some((u) => /member|worker|opaque/i.test(u)), urls.join(' '));
  const js = await (await fetch(`${server.base}/assets/guest.js`)).text();
  assert.ok(!/Registration|takeKek|sealIdentity/.test(js), 'the guest bundle holds member code');
  console.log(`guest link page: ${loaded.length} requests, ${transferred} B transferred (gzip)`);
  assert.ok(transferred <= 55_000, `${transferred} B`);
});

test('pages answer with the production security headers; only they are compressed', async () => {
  for (const path of ['/open', '/m/bob', '/assets/guest.js', '/assets/guest.wasm']) {
    const response = await fetch(`${server.base}${path}`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(response.status, 200, path);
    assert.equal(
      response.headers.get('content-security-policy'),
      "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(response.headers.get('x-frame-options'), 'DENY');
    assert.equal(response.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.equal(response.headers.get('content-encoding'), 'gzip', path);
  }
  // A browser that has a file revalidates it for nothing: 304, no bytes.
  for (const path of ['/open', '/assets/guest.wasm']) {
    const first = await fetch(`${server.base}${path}`);
    const tag = first.headers.get('etag');
    assert.ok(tag, `${path} has no ETag`);
    const again = await fetch(`${server.base}${path}`, { headers: { 'if-none-match': tag } });
    assert.equal(again.status, 304, path);
    assert.equal((await again.arrayBuffer()).byteLength, 0);
    const other = await fetch(`${server.base}${path}`, { headers: { 'if-none-match': '"stale"' } });
    assert.equal(other.status, 200, path);
  }
  // API answers are never compressed (no secret beside attacker-chosen text).
  const api = await fetch(`${server.base}/api/v1/members/bob`, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(api.headers.get('content-encoding'), null);
});

test('broken and incomplete links explain themselves and leave the address bar clean', async () => {
  // Links that a mail program cut short or mangled, clicked in the mail.
  const context = await guestContext();
  const cut = await clickLinkInText(context, `Open this link: ${server.base}/open`);
  await cut.getByRole('heading', { name: 'This link is incomplete' }).waitFor();
  const page = await clickLinkInText(context, `Open this link: ${server.base}/open#k1.tooShort`);
  await page.getByRole('heading', { name: 'This link is damaged' }).waitFor();
  assert.ok(!page.url().includes('#'));
  await checkA11y(page, 'link-damaged');
  // A second link pasted into the address bar of the same tab starts over
  // cleanly. (Typing an address is the one way to reach this: only the
  // fragment changes, and no click in a mail does that.)
  await server.cli(['contact', 'bob', '--email', 'dora@guest.test', 'Another one'], {});
  const link = await mail.link('dora@guest.test', 1);
  await page.goto(remember(link));
  await page.getByRole('heading', { name: 'Bob Builder wrote to you' }).waitFor();
  assert.ok(!page.url().includes('#'));
});

test('dark mode passes the same accessibility checks', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
  const page = await context.newPage();
  await page.goto(`${server.base}/m/bob`);
  await page.getByRole('heading', { name: 'Write to Bob Builder' }).waitFor();
  await checkA11y(page, 'contact-dark');
  const cut = await clickLinkInText(context, `Open this link: ${server.base}/open`);
  await cut.getByRole('heading', { name: 'This link is incomplete' }).waitFor();
  await checkA11y(cut, 'link-incomplete-dark');
  await context.close();
});

/** Everything the guest's tab keeps: both storages, and the link keys'
 * records in IndexedDB (what can be said of a CryptoKey). */
async function kept(page) {
  return page.evaluate(async () => {
    const keys = await new Promise((resolve, reject) => {
      const opening = indexedDB.open('latchkey-guest');
      opening.onerror = () => reject(opening.error);
      opening.onsuccess = () => {
        const db = opening.result;
        if (!db.objectStoreNames.contains('link-keys')) return resolve([]);
        const all = db.transaction('link-keys').objectStore('link-keys').getAll();
        all.onsuccess = () => resolve(all.result);
        all.onerror = () => reject(all.error);
      };
    });
    const records = [];
    for (const r of keys) {
      records.push({
        id: r.id,
        until: r.until,
        type: r.key.type,
        algorithm: r.key.algorithm.name,
        extractable: r.key.extractable,
        exported: await crypto.subtle.exportKey('raw', r.key).then(
          () => 'exported',
          (e) => e.name,
        ),
      });
    }
    return { session: { ...sessionStorage }, local: { ...localStorage }, records };
  });
}

/** Every spelling of a link's secret that a page could store. */
function spellings(fragment) {
  const tail = fragment.slice(3);
  const raw = Buffer.from(tail, 'base64url');
  return [fragment, tail, raw.toString('hex'), raw.toString('base64').replace(/=+$/, '')];
}

test('after a link is opened, no trace of it in clear is left in the address bar or the storages', async () => {
  await server.cli(['contact', 'bob', '--email', 'erin@guest.test', 'Nothing left behind'], {});
  const message = await mail.message('erin@guest.test', 1);
  const fragment = remember(linkIn(message)).split('#')[1];
  const secrets = spellings(fragment);
  const clean = (what, state) => {
    const text = JSON.stringify(state);
    for (const secret of secrets) assert.ok(!text.includes(secret), `${what}: the link in clear`);
  };

  const context = await guestContext();
  const page = await clickLinkInMail(context, message);
  await page.getByRole('button', { name: 'Open conversation' }).waitFor();
  assert.ok(!page.url().includes('#'), page.url());
  clean('landing page', await kept(page));

  await typeAddressAndOpen(page, 'erin@guest.test');
  await page.getByRole('list', { name: 'Messages' }).getByText('Nothing left behind').waitFor();
  assert.ok(!page.url().includes('#'), page.url());
  const opened = await kept(page);
  clean('open conversation', opened);
  // The address is kept for reloads too, sealed under the same key.
  assert.ok(!JSON.stringify(opened).includes('erin@'), 'the address in clear');
  assert.deepEqual(opened.local, {});
  // What is kept for a reload is a ciphertext (the fragment's 46 bytes and
  // a 16-byte tag) under a key the page can use but not read.
  const entry = JSON.parse(opened.session['latchkey.guest.link']);
  assert.equal(Buffer.from(entry.sealed, 'base64url').length, fragment.length + 16);
  assert.equal(Buffer.from(entry.address.sealed, 'base64url').length, 'erin@guest.test'.length + 16);
  assert.equal(entry.opened, true);
  assert.deepEqual(
    opened.records.map(({ id, type, algorithm, extractable, exported }) => ({ id, type, algorithm, extractable, exported })),
    [{ id: entry.id, type: 'secret', algorithm: 'AES-GCM', extractable: false, exported: 'InvalidAccessError' }],
  );

  // It does its job: a reload reopens the conversation without asking for
  // the address again, and leaves nothing.
  await page.reload();
  await page.getByRole('list', { name: 'Messages' }).getByText('Nothing left behind').waitFor();
  const reloaded = await kept(page);
  clean('after a reload', reloaded);
  assert.ok(!JSON.stringify(reloaded).includes('erin@'), 'the address in clear after a reload');

  // Signing out forgets the ciphertext and destroys its key.
  await page.getByRole('button', { name: 'Sign out on this computer' }).click();
  await page.getByRole('heading', { name: 'Signed out' }).waitFor();
  await page.waitForFunction(async () => {
    const opening = indexedDB.open('latchkey-guest');
    const db = await new Promise((resolve) => (opening.onsuccess = () => resolve(opening.result)));
    const count = db.transaction('link-keys').objectStore('link-keys').count();
    return new Promise((resolve) => (count.onsuccess = () => resolve(count.result === 0)));
  });
  const after = await kept(page);
  assert.deepEqual(after, { session: {}, local: {}, records: [] });
  await context.close();
});

test('wrong addresses use nothing up; after too many the page says when to try again', async () => {
  await server.cli(['contact', 'bob', '--email', 'fred@guest.test', 'Guess my address'], {});
  const message = await mail.message('fred@guest.test', 1);
  remember(linkIn(message));
  const page = await clickLinkInMail(await guestContext(), message);
  const address = page.getByLabel('Your e-mail address');
  const problem = page.locator('#address-problem');
  // Someone who has the link but not the address guesses, and guesses again.
  let guesses = 0;
  for (; guesses < 10; guesses++) {
    await address.fill(`guess${guesses}@guest.test`);
    await page.getByRole('button', { name: 'Open conversation' }).click();
    await page.waitForFunction(() => /another address|Too many/.test(document.querySelector('#address-problem')?.textContent ?? ''));
    if (/Too many/.test(await problem.textContent())) break;
    // The same wrong address twice is refused by the page itself.
    await address.press('Enter');
    await page.getByText(/^This link was sent to another address\./).waitFor();
  }
  assert.ok(guesses >= 3, `locked after ${guesses} guesses`);
  assert.match(await problem.textContent(), /^Too many tries to open this link\. Try again in \d+ (seconds|minutes); the link still works until then\.$/);
  assert.ok(await address.evaluate((input) => input === document.activeElement));
  // Locked is locked, for the right address too, and nothing is used up.
  await address.fill('fred@guest.test');
  await address.press('Enter');
  await page.waitForFunction(() => !document.querySelector('form.open-link button')?.disabled);
  assert.match(await problem.textContent(), /^Too many tries/);
  assert.equal(await page.getByRole('list', { name: 'Messages' }).count(), 0);
  await checkA11y(page, 'open-rate-limited');
  await page.context().close();
});
