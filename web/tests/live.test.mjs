// Live events (docs/live.md) in headless Chromium: with no click at all,
// the member's inbox shows a new guest's conversation, his open
// conversation shows the guest's reply, and the guest's page shows the
// member's reply, each decrypted in place.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
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
