// Live events (docs/live.md) in headless Chromium: with no click at all,
// the member's inbox shows a new guest's conversation, his open
// conversation shows the guest's reply, and the guest's page shows the
// member's reply, each decrypted in place. And with two instances on one
// PostgreSQL database, what is written through one reaches a page that is
// connected to the other (LISTEN/NOTIFY).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { launch } from './support/browser.mjs';
import { startMail, startServer } from './support/latchkey.mjs';
import { clickLinkInMail } from './support/person.mjs';

const member = { LATCHKEY_HANDLE: 'bob', LATCHKEY_PASSWORD: 'a long member passphrase' };
const guestEmail = 'ann@guest.test';
let browser, mail, server;
const pageErrors = [];

before(async () => {
  mail = await startMail();
  server = await startServer(mail);
  browser = await launch();
  await server.cli(['member', 'add', '--name', 'Bob Builder', '--email', 'bob@member.test'], member);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await mail?.stop();
  assert.deepEqual(pageErrors, []);
});

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'en-US' });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e}`));
  return page;
}

function message(page, text) {
  return page.getByRole('list', { name: 'Messages' }).getByRole('listitem').filter({ hasText: text });
}

test('live: new messages appear in the inbox, the conversation and the guest page without a click', async () => {
  await server.cli(['contact', 'bob', '--email', guestEmail, '--name', 'Ann', 'Hello Bob, this is Ann.'], {});
  const conversation = (await server.cli(['inbox'], member)).split(/\s+/)[0];
  await server.cli(['send', conversation, 'Hello Ann, Bob here.'], member);

  // Bob signs in: his inbox has Ann's conversation.
  const bob = await newPage();
  await bob.goto(`${server.base}/signin`);
  await bob.getByLabel('Handle').fill('bob');
  await bob.getByLabel('Password').fill(member.LATCHKEY_PASSWORD);
  await bob.getByRole('button', { name: 'Sign in', exact: true }).click();
  const inbox = bob.getByRole('list', { name: 'Conversations' });
  await inbox.getByRole('listitem').first().waitFor({ timeout: 60_000 });
  await bob.waitForResponse((r) => r.url().endsWith('/api/v1/events') && r.status() === 200, { timeout: 10_000 }).catch(() => undefined);

  // Carl writes: his conversation appears in Bob's inbox, unread.
  await server.cli(['contact', 'bob', '--email', 'carl@guest.test', '--name', 'Carl', 'Hi from Carl.'], {});
  const carl = inbox.getByRole('listitem').filter({ hasText: 'carl@guest.test' });
  await carl.waitFor({ timeout: 10_000 });
  assert.match(await carl.getAttribute('class'), /unread/);

  // Ann opens her link; Bob opens her conversation.
  const ann = await clickLinkInMail((await newPage()).context(), await mail.message(guestEmail, 2));
  await ann.getByLabel('Your e-mail address').fill(guestEmail);
  await ann.getByRole('button', { name: 'Open conversation' }).click();
  await ann.getByRole('list', { name: 'Messages' }).waitFor({ timeout: 30_000 });
  await inbox.getByRole('listitem').filter({ hasText: guestEmail }).getByRole('link').click();
  await message(bob, 'Hello Ann, Bob here.').waitFor({ timeout: 30_000 });

  // Ann replies: Bob's open conversation shows it.
  await ann.getByLabel('Your reply').fill('Thanks, Bob.');
  await ann.getByRole('button', { name: 'Send' }).click();
  await message(bob, 'Thanks, Bob.').waitFor({ timeout: 10_000 });

  // Bob replies from his page: Ann's page shows it, once.
  await bob.getByLabel('Your reply').fill('You are welcome, Ann.');
  await bob.getByRole('button', { name: 'Send' }).click();
  await message(ann, 'You are welcome, Ann.').waitFor({ timeout: 10_000 });
  await message(bob, 'You are welcome, Ann.').waitFor();
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await message(ann, 'You are welcome, Ann.').count(), 1);
  assert.equal(await message(bob, 'You are welcome, Ann.').count(), 1);
  assert.equal(await message(bob, 'Thanks, Bob.').count(), 1);
});

test('live: two instances on PostgreSQL: a write through one reaches a page on the other', async () => {
  const admin = process.env.LATCHKEY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `lk_live_${process.pid}`;
  const psql = (sql) => promisify(execFile)('psql', [admin, '-qAtc', sql]);
  await psql(`DROP DATABASE IF EXISTS ${name}`);
  await psql(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  let a, b;
  try {
    a = await startServer(mail, { LATCHKEY_DATABASE_URL: url.href });
    // The same database, secrets file and (beside it) epoch file: a second instance.
    b = await startServer(mail, { LATCHKEY_DATABASE_URL: url.href, LATCHKEY_SECRETS_FILE: join(a.dir, 'secrets.key') });
    const dora = { LATCHKEY_HANDLE: 'dora', LATCHKEY_PASSWORD: 'dora has a long passphrase' };
    await a.cli(['member', 'add', '--name', 'Dora', '--email', 'dora@member.test'], dora);
    await a.cli(['contact', 'dora', '--email', 'eve@guest.test', '--name', 'Eve', 'Hello Dora.'], {});

    // Dora's page is connected to instance B.
    const page = await newPage();
    await page.goto(`${b.base}/signin`);
    await page.getByLabel('Handle').fill('dora');
    await page.getByLabel('Password').fill(dora.LATCHKEY_PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    const inbox = page.getByRole('list', { name: 'Conversations' });
    await inbox.getByRole('listitem').first().waitFor({ timeout: 60_000 });
    const eve = (await a.cli(['inbox'], dora)).split(/\s+/)[0];
    await inbox.getByRole('listitem').filter({ hasText: 'eve@guest.test' }).getByRole('link').click();
    await message(page, 'Hello Dora.').waitFor({ timeout: 30_000 });

    // Through instance A: Dora's reply from her other device shows on B's page.
    await a.cli(['send', eve, 'Sent from my phone.'], dora);
    await message(page, 'Sent from my phone.').waitFor({ timeout: 4_000 });
    assert.equal(await message(page, 'Sent from my phone.').count(), 1);

    // Through instance A: a new guest; B's inbox shows her conversation.
    await page.getByRole('link', { name: 'Inbox', exact: true }).click();
    await inbox.getByRole('listitem').filter({ hasText: 'eve@guest.test' }).waitFor();
    await a.cli(['contact', 'dora', '--email', 'fay@guest.test', '--name', 'Fay', 'Hi Dora, Fay here.'], {});
    await inbox.getByRole('listitem').filter({ hasText: 'fay@guest.test' }).waitFor({ timeout: 4_000 });
  } finally {
    await b?.stop();
    await a?.stop();
    await psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
});
