// Unlocking the key with a passkey, in headless Chromium against the real
// binary, with the DevTools virtual authenticator playing the member's
// phone and laptop (CDP `WebAuthn.*`, PRF on). A password member adds a
// passkey in the settings, reloads, unlocks with it (no password typed)
// and reads a guest's message; a second passkey on another authenticator
// unlocks too; a removed passkey no longer does; and an authenticator
// without PRF gets a clear message and nothing is sealed under it.
// A member the site invites (admin API, token from the CLI) sets up his key
// with a passkey and no password from the link in his invitation, signs in
// with it, unlocks with it, cannot remove it while it is his only way in,
// makes a new recovery key and adds a password in the settings, each
// confirmed with the passkey; an authenticator without PRF at
// enrollment stores nothing, and the password way still works.
//
// WebAuthn needs a domain as its RP id (an IP address is refused), so the
// server is reached at http://localhost:PORT with that as its public URL.
// Exactly one authenticator answers at a time: the others have automatic
// presence simulation off, so they wait for a touch that never comes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { launch } from './support/browser.mjs';
import { LATCHKEY, startMail, startServer } from './support/latchkey.mjs';
import { clickLinkInMail } from './support/person.mjs';
import { serveStatic } from './support/static-server.mjs';

const HANDLE = 'pia';
const PASSWORD = 'pia has a long password';
let browser, mail, server, base, adminToken;
const pageErrors = [];

async function freePort() {
  const s = createServer();
  await new Promise((ok) => s.listen(0, '127.0.0.1', ok));
  const { port } = s.address();
  await new Promise((ok) => s.close(ok));
  return port;
}

before(async () => {
  mail = await startMail();
  const port = await freePort();
  base = `http://localhost:${port}`;
  server = await startServer(mail, { LATCHKEY_BIND: `127.0.0.1:${port}`, LATCHKEY_PUBLIC_URL: base });
  // The operator's command, on the server's own database: the site's token.
  const { stdout } = await promisify(execFile)(LATCHKEY, ['admin', 'token', 'create', '--name', 'site', '--scope', 'members:read,members:write'], {
    env: {
      PATH: process.env.PATH,
      LATCHKEY_DEV: 'true',
      LATCHKEY_DATABASE_URL: `sqlite://${join(server.dir, 'data/latchkey.db')}?mode=rwc`,
      LATCHKEY_SECRETS_FILE: join(server.dir, 'secrets.key'),
    },
  });
  adminToken = stdout.trim();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await mail?.stop();
});

const AUTHENTICATOR = {
  protocol: 'ctap2',
  ctap2Version: 'ctap2_1',
  transport: 'internal',
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
  hasPrf: true,
};

/** The virtual authenticators of one tab; `use(id)` makes that one the only one that answers. */
async function authenticators(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const all = [];
  return {
    async add(options = {}) {
      const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: { ...AUTHENTICATOR, ...options } });
      all.push(authenticatorId);
      await this.use(authenticatorId);
      return authenticatorId;
    },
    async use(id) {
      for (const other of all) {
        await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: other, enabled: other === id });
      }
    },
    async credentials(id) {
      return (await cdp.send('WebAuthn.getCredentials', { authenticatorId: id })).credentials;
    },
  };
}

/** What the server keeps for the signed-in member (read as his pages read it). */
async function storedPasskeys(page) {
  return page.evaluate(async () => (await (await fetch('/api/v1/me/passkeys')).json()).passkeys.map((p) => p.label));
}

/** The site's backend calling the admin API. */
async function admin(method, path, body) {
  const response = await fetch(`${base}/api/v1/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** The site invites `handle`; he opens the link in his invitation (a new tab of a fresh browser). */
async function invitedMember(handle, name, email) {
  await admin('POST', '/members', { handle, display_name: name, email, send_email: true });
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  context.on('page', (page) => page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e}`)));
  const page = await clickLinkInMail(context, await mail.message(email, 1), 'Set up my account');
  await page.getByRole('heading', { name: `Welcome, ${name}` }).waitFor();
  return page;
}

/** The recovery key screen after setting up, then the inbox. */
async function saveRecoveryKey(page) {
  await page.getByRole('heading', { name: 'Save your recovery key' }).waitFor({ timeout: 60_000 });
  assert.match((await page.locator('#recovery-key').textContent()).trim(), /^LKR1-/);
  await page.getByLabel('I have saved my recovery key somewhere safe').check();
  await page.getByRole('button', { name: 'Continue to my inbox' }).click();
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
}

async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('heading', { name: 'Signed out' }).waitFor();
  await page.getByRole('main').getByRole('link', { name: 'Sign in again' }).click();
  await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
}

async function unlockWithPasskey(page) {
  await page.reload();
  await page.getByRole('heading', { name: 'Unlock your messages' }).waitFor();
  await page.getByRole('button', { name: 'Use a passkey instead' }).click();
}

test('the page asks the PRF for the input the protocol names (passkey.json)', async () => {
  const vectors = JSON.parse(await readFile(resolve(import.meta.dirname, '../../crates/core/tests/vectors/passkey.json'), 'utf8'));
  const input = Buffer.from(vectors.cases.find((c) => c.op === 'passkey.prf_input').prf_input, 'hex').toString('latin1');
  const page = await readFile(resolve(import.meta.dirname, '../dist/assets/member.js'), 'utf8');
  assert.ok(page.includes(JSON.stringify(input).slice(1, -1)), `member.js does not evaluate the PRF at ${input}`);
});

test('the member bundle: Kek.fromPasskey opens the vectors\' copies, not the moved ones, and wipes the PRF bytes it was given', async () => {
  const vectors = JSON.parse(await readFile(resolve(import.meta.dirname, '../../crates/core/tests/vectors/passkey.json'), 'utf8'));
  const statics = await serveStatic();
  const tab = await browser.newPage();
  try {
    await tab.goto(`${statics.origin}/harness/index.html?bundle=member`);
    await tab.waitForFunction(() => window.latchkey !== undefined, null, { timeout: 30_000 });
    const cases = vectors.cases.filter((c) => c.op === 'passkey.kek' || c.op === 'passkey.open_error');
    const results = await tab.evaluate((cases) => {
      const { Kek } = window.latchkey;
      const hex = (h) => Uint8Array.from(h.match(/../g).map((b) => parseInt(b, 16)));
      const toHex = (b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
      return cases.map((c) => {
        const prf = hex(c.prf_output);
        const kek = Kek.fromPasskey(prf, c.handle, hex(c.credential_id));
        const wiped = prf.every((b) => b === 0);
        let opened = null;
        try {
          const identity = kek.openIdentity(hex(c.sealed), hex(c.public_key));
          opened = toHex(identity.publicKey);
          identity.free();
        } catch (e) {
          opened = String(e.message ?? e).split(':')[0];
        }
        kek.free();
        return { op: c.op, wiped, opened };
      });
    }, cases);
    for (const [i, r] of results.entries()) {
      assert.equal(r.wiped, true, `case ${i}: the PRF bytes were not wiped`);
      assert.equal(r.opened, r.op === 'passkey.kek' ? cases[i].public_key : 'decryption_failed', `case ${i}`);
    }
    assert.equal(results.length, 6);
  } finally {
    await tab.close();
    await statics.close();
  }
});

test('a passkey unlocks the key after a reload; a second one too; a removed one and one without PRF do not', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  const keys = await authenticators(page);

  // Sign up with a password, as today.
  await page.goto(`${base}/`);
  await page.getByRole('main').getByRole('link', { name: 'Sign up' }).click();
  await page.getByLabel('Handle').fill(HANDLE);
  await page.getByLabel('Display name').fill('Pia');
  await page.getByLabel('E-mail address').fill('pia@member.test');
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Repeat the password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create my account' }).click();
  await page.getByRole('heading', { name: 'Save your recovery key' }).waitFor({ timeout: 60_000 });
  await page.getByLabel('I have saved my recovery key somewhere safe').check();
  await page.getByRole('button', { name: 'Continue to my inbox' }).click();
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();

  // A guest writes, so that the inbox has something only the key opens.
  const guest = await (await browser.newContext()).newPage();
  await guest.goto(`${base}/m/${HANDLE}`);
  await guest.getByLabel('Your e-mail address').fill('otto@guest.test');
  await guest.getByLabel('Your name (optional)').fill('Otto Guest');
  await guest.getByLabel('Message', { exact: true }).fill('Hello Pia.');
  await guest.getByRole('button', { name: 'Send' }).click();
  await guest.getByRole('heading', { name: 'Sent' }).waitFor();
  const guestRow = page.getByRole('list', { name: 'Conversations' }).getByRole('listitem').filter({ hasText: 'Otto Guest <otto@guest.test>' });

  // The laptop's passkey.
  const laptop = await keys.add();
  await page.getByRole('navigation').getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('heading', { name: 'Passkeys' }).waitFor();
  await page.getByText('No passkey yet.').waitFor();
  await page.getByLabel('Name of the passkey').fill('Laptop');
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await page.getByText('Added “Laptop”: it now unlocks your key.').waitFor({ timeout: 30_000 });
  await page.getByRole('list').filter({ hasText: 'Laptop' }).waitFor();
  assert.equal((await keys.credentials(laptop)).length, 1);
  assert.deepEqual(await storedPasskeys(page), ['Laptop']);

  // Reload: the worker and the key are gone; the passkey alone unlocks.
  await page.getByRole('navigation').getByRole('link', { name: 'Inbox' }).click();
  await guestRow.waitFor();
  await unlockWithPasskey(page);
  await guestRow.waitFor({ timeout: 30_000 });
  assert.equal(new URL(page.url()).pathname, '/inbox');

  // A second passkey, on the phone; it unlocks while the laptop stays silent.
  // (Chrome allows one internal authenticator: the phone is a roaming one.)
  const phone = await keys.add({ transport: 'usb' });
  await page.getByRole('navigation').getByRole('link', { name: 'Settings' }).click();
  await page.getByLabel('Name of the passkey').fill('Phone');
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await page.getByText('Added “Phone”: it now unlocks your key.').waitFor({ timeout: 30_000 });
  assert.deepEqual(await storedPasskeys(page), ['Laptop', 'Phone']);
  await page.getByRole('navigation').getByRole('link', { name: 'Inbox' }).click();
  await unlockWithPasskey(page);
  await guestRow.waitFor({ timeout: 30_000 });

  // Remove the laptop's passkey: its sealed copy is gone, so it unlocks nothing.
  await page.getByRole('navigation').getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('button', { name: 'Remove the passkey “Laptop”' }).click();
  await page.getByText('Removed “Laptop”: it no longer unlocks your key.').waitFor();
  assert.deepEqual(await storedPasskeys(page), ['Phone']);
  await page.getByRole('navigation').getByRole('link', { name: 'Inbox' }).click();
  await keys.use(laptop);
  await unlockWithPasskey(page);
  await page.getByText('This passkey does not unlock your key: it was removed, or it belongs to another account.').waitFor({ timeout: 30_000 });
  assert.equal(await guestRow.count(), 0);
  // The phone still does.
  await keys.use(phone);
  await page.getByRole('button', { name: 'Use a passkey instead' }).click();
  await guestRow.waitFor({ timeout: 30_000 });

  // An authenticator without PRF: a clear message, nothing sealed.
  const old = await keys.add({ transport: 'usb', hasPrf: false });
  await page.getByRole('navigation').getByRole('link', { name: 'Settings' }).click();
  await page.getByLabel('Name of the passkey').fill('Old key');
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await page.getByText(/^This passkey cannot unlock a key: its authenticator does not support the PRF extension\. Nothing was stored\./).waitFor({ timeout: 30_000 });
  assert.deepEqual(await storedPasskeys(page), ['Phone']);
  assert.equal((await keys.credentials(old)).length, 1, 'the authenticator did make a credential');

  assert.deepEqual(pageErrors, []);
  await context.close();
});

test('an invited member sets up his key with a passkey, no password: signs in and unlocks with it, keeps his last one, adds a password', async () => {
  const email = 'quin@member.test';
  const page = await invitedMember('quin', 'Quin Site', email);
  const keys = await authenticators(page);
  const laptop = await keys.add();

  // Name and address come from the invitation; no password typed.
  assert.equal(await page.getByLabel('E-mail address').inputValue(), email);
  await page.getByRole('button', { name: 'Set up with a passkey' }).click();
  await saveRecoveryKey(page);
  assert.equal((await admin('GET', '/members/quin')).status, 'active');
  assert.equal((await keys.credentials(laptop)).length, 1);
  assert.deepEqual(await storedPasskeys(page), ['First passkey']);
  const me = await page.evaluate(async () => (await fetch('/api/v1/me')).json());
  assert.equal(me.sealed_identity, undefined, 'a passkey-only member has no password copy');

  // A guest writes to him.
  const guest = await (await browser.newContext()).newPage();
  await guest.goto(`${base}/m/quin`);
  await guest.getByLabel('Your e-mail address').fill('otto@guest.test');
  await guest.getByLabel('Your name (optional)').fill('Otto Guest');
  await guest.getByLabel('Message', { exact: true }).fill('Hello Quin, only your passkey reads this.');
  await guest.getByRole('button', { name: 'Send' }).click();
  await guest.getByRole('heading', { name: 'Sent' }).waitFor();
  await guest.context().close();

  // Signed out, he signs in with the passkey: the handle, no password.
  await signOut(page);
  await page.getByLabel('Handle').fill('quin');
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await page.getByRole('heading', { name: 'Inbox' }).waitFor({ timeout: 30_000 });
  await page.getByRole('list', { name: 'Conversations' }).getByRole('listitem').filter({ hasText: 'Otto Guest' }).getByRole('link').click();
  const message = page.getByRole('list', { name: 'Messages' }).getByText('Hello Quin, only your passkey reads this.');
  await message.waitFor({ timeout: 30_000 });

  // After a reload the key is locked: no password field, the passkey unlocks.
  await page.reload();
  await page.getByRole('heading', { name: 'Unlock your messages' }).waitFor();
  assert.equal(await page.getByLabel('Password').count(), 0);
  await page.getByRole('link', { name: 'Use your recovery key' }).waitFor();
  await page.getByRole('button', { name: 'Unlock with a passkey' }).click();
  await message.waitFor({ timeout: 30_000 });

  // His only passkey is his only way in: removing it is refused.
  await page.getByRole('navigation').getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('heading', { name: 'Add a password' }).waitFor();
  assert.equal(await page.getByLabel('Current password').count(), 0);
  await page.getByRole('button', { name: 'Remove the passkey “First passkey”' }).click();
  await page.getByText('This is your only passkey and you have no password: without it you could not sign in. Add a password or another passkey first.').waitFor();
  assert.deepEqual(await storedPasskeys(page), ['First passkey']);

  // A new recovery key: confirmed with the passkey, no password asked.
  await page.getByRole('button', { name: 'Make a new recovery key' }).click();
  await page.getByText(/^Your new recovery key is below\./).waitFor({ timeout: 30_000 });
  assert.match((await page.locator('#recovery-key').textContent()).trim(), /^LKR1-/);

  // He adds a password (confirmed with the passkey) and signs in with it too.
  const password = 'quin added a password';
  await page.getByLabel('New password', { exact: true }).fill(password);
  await page.getByLabel('Repeat the new password').fill(password);
  await page.getByRole('button', { name: 'Add a password' }).click();
  await page.getByText('Your password is added: you can now sign in with it too.').waitFor({ timeout: 60_000 });
  await signOut(page);
  await page.getByLabel('Handle').fill('quin');
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Inbox' }).waitFor({ timeout: 60_000 });
  await page.getByRole('list', { name: 'Conversations' }).getByRole('listitem').filter({ hasText: 'Otto Guest' }).waitFor({ timeout: 30_000 });

  assert.deepEqual(pageErrors, []);
  await page.context().close();
});

test('an authenticator without PRF at enrollment: a clear message, nothing stored, and the password way still works', async () => {
  const page = await invitedMember('rolf', 'Rolf Site', 'rolf@member.test');
  const keys = await authenticators(page);
  const old = await keys.add({ hasPrf: false });
  await page.getByRole('button', { name: 'Set up with a passkey' }).click();
  await page
    .getByText(/^This passkey cannot unlock a key: its authenticator does not support the PRF extension\. Nothing was stored\. .* Or choose a password below: your invitation still works\.$/)
    .waitFor({ timeout: 30_000 });
  assert.equal((await keys.credentials(old)).length, 1, 'the authenticator did make a credential');
  assert.equal((await admin('GET', '/members/rolf')).status, 'invited');

  const password = 'rolf long passphrase';
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByLabel('Repeat the password').fill(password);
  await page.getByRole('button', { name: 'Set up my account' }).click();
  await saveRecoveryKey(page);
  assert.equal((await admin('GET', '/members/rolf')).status, 'active');
  assert.deepEqual(await storedPasskeys(page), []);

  // Passkey sign-in for a member with none: said before any prompt.
  await signOut(page);
  await page.getByLabel('Handle').fill('rolf');
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await page.getByText('No passkey is set up for this handle here. Check the handle, or sign in with your password.').waitFor({ timeout: 30_000 });

  assert.deepEqual(pageErrors, []);
  await page.context().close();
});
