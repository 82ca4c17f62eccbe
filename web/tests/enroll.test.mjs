// An invited member's enrollment page in headless Chromium against the real
// binary: the site's backend invites him through the admin API (a token
// made with `latchkey admin token create`), the invitation arrives by
// e-mail (maildev), he clicks its link, chooses a password, saves his
// recovery key and lands in his inbox; a guest then writes to him from his
// contact page. Disabled by the site, his contact page and his guest's link
// page say he takes no messages; re-enabled, they work again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { launch } from './support/browser.mjs';
import { LATCHKEY, startMail, startServer } from './support/latchkey.mjs';
import { clickLinkInMail } from './support/person.mjs';

const run = promisify(execFile);
const PASSWORD = 'invited member passphrase';
const memberEmail = 'carol@member.test';
const guestEmail = 'ann@guest.test';

let browser, mail, server, token;
const pageErrors = [];

before(async () => {
  mail = await startMail();
  server = await startServer(mail);
  // The operator's command, on the server's own database.
  const { stdout } = await run(LATCHKEY, ['admin', 'token', 'create', '--name', 'site', '--scope', 'members:read,members:write'], {
    env: {
      PATH: process.env.PATH,
      LATCHKEY_DEV: 'true',
      LATCHKEY_DATABASE_URL: `sqlite://${join(server.dir, 'data/latchkey.db')}?mode=rwc`,
      LATCHKEY_SECRETS_FILE: join(server.dir, 'secrets.key'),
    },
  });
  token = stdout.trim();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await mail?.stop();
});

/** The site's backend calling the admin API. */
async function admin(method, path, body) {
  const response = await fetch(`${server.base}/api/v1/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e}`));
  return page;
}

test('an invited member enrolls from his mail, a guest writes to him, and a disable shows on the guest pages', async () => {
  const invited = await admin('POST', '/members', { handle: 'carol', display_name: 'Carol Site', email: memberEmail, send_email: true });
  assert.equal(invited.member.status, 'invited');

  // He clicks the link in the invitation.
  const invitation = await mail.message(memberEmail, 1);
  const page = await clickLinkInMail(await (await newPage()).context(), invitation, 'Set up my account');
  await page.getByRole('heading', { name: 'Welcome, Carol Site' }).waitFor();
  // The token left the address bar (it is only ever sent in a body).
  assert.equal(new URL(page.url()).hash, '');
  assert.equal(new URL(page.url()).pathname, '/enroll');
  assert.equal(await page.getByLabel('E-mail address').inputValue(), memberEmail);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Repeat the password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Set up my account' }).click();
  await page.getByRole('heading', { name: 'Save your recovery key' }).waitFor({ timeout: 60_000 });
  assert.match((await page.locator('#recovery-key').textContent()).trim(), /^LKR1-/);
  await page.getByLabel('I have saved my recovery key somewhere safe').check();
  await page.getByRole('button', { name: 'Continue to my inbox' }).click();
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  await page.getByText('No conversations yet.').waitFor();
  assert.equal((await admin('GET', '/members/carol')).status, 'active');

  // The link worked once: opened again, it says so.
  const again = await clickLinkInMail(await (await newPage()).context(), invitation, 'Set up my account');
  await again.getByRole('heading', { name: 'This invitation does not work' }).waitFor();

  // A guest writes to him from his contact page.
  const guest = await newPage();
  await guest.goto(`${server.base}/m/carol`);
  await guest.getByRole('heading', { name: 'Write to Carol Site' }).waitFor();
  await guest.getByLabel('Your e-mail address').fill(guestEmail);
  await guest.getByLabel('Message', { exact: true }).fill('Hello Carol, welcome.');
  await guest.getByRole('button', { name: 'Send' }).click();
  await guest.getByRole('heading', { name: 'Sent' }).waitFor();
  await page.getByRole('button', { name: 'Refresh' }).click();
  await page.getByRole('list', { name: 'Conversations' }).getByRole('listitem').filter({ hasText: guestEmail }).waitFor();

  // Disabled by the site: the contact page and the guest's link say so.
  await admin('POST', '/members/carol/disable');
  await guest.reload();
  await guest.getByRole('heading', { name: 'Carol Site takes no messages' }).waitFor();
  assert.equal(await guest.getByRole('button', { name: 'Send' }).count(), 0);
  const guestLink = await clickLinkInMail(guest.context(), await mail.message(guestEmail, 1));
  await guestLink.getByRole('heading', { name: 'This conversation is closed for now' }).waitFor();

  // Re-enabled: the same link opens the conversation.
  await admin('POST', '/members/carol/enable');
  const reopened = await clickLinkInMail(guest.context(), await mail.message(guestEmail, 1));
  await reopened.getByLabel('Your e-mail address').fill(guestEmail);
  await reopened.getByRole('button', { name: 'Open conversation' }).click();
  await reopened.getByRole('list', { name: 'Messages' }).getByText('Hello Carol, welcome.').waitFor();

  assert.deepEqual(pageErrors, []);
});
