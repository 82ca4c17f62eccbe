// Read receipts (docs/receipts.md) in headless Chromium, by clicking: the
// member sees "Read …" under his message once the guest has opened the
// mailed link that carried it (and not before); the guest sees "Read …"
// under his own once the member has read it; and the guest's switch,
// turned off, hides them on both sides, as does the member's in his
// settings.
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

/** The guest clicks the link in his `count`th mail and opens the conversation. */
async function guestOpens(context, count) {
  const page = await clickLinkInMail(context, await mail.message(guestEmail, count));
  await page.getByLabel('Your e-mail address').fill(guestEmail);
  await page.getByRole('button', { name: 'Open conversation' }).click();
  await page.getByRole('list', { name: 'Messages' }).waitFor({ timeout: 30_000 });
  return page;
}

function message(page, text) {
  return page.getByRole('list', { name: 'Messages' }).getByRole('listitem').filter({ hasText: text });
}

test('receipts: the member sees the opened link, the guest sees his message read, a switch hides them', async () => {
  // Ann writes; Bob answers from his CLI, which mails her a link.
  await server.cli(['contact', 'bob', '--email', guestEmail, '--name', 'Ann', 'Hello Bob, this is Ann.'], {});
  const conversation = (await server.cli(['inbox'], member)).split(/\s+/)[0];
  await server.cli(['send', conversation, 'Hello Ann, Bob here.'], member);
  await mail.message(guestEmail, 2);

  // Bob reads in his browser: his message is not read yet.
  const bob = await newPage();
  await bob.goto(`${server.base}/signin`);
  await bob.getByLabel('Handle').fill('bob');
  await bob.getByLabel('Password').fill(member.LATCHKEY_PASSWORD);
  await bob.getByRole('button', { name: 'Sign in', exact: true }).click();
  const row = bob.getByRole('list', { name: 'Conversations' }).getByRole('listitem').first();
  await row.waitFor({ timeout: 60_000 });
  await row.getByRole('link').click();
  const mine = message(bob, 'Hello Ann, Bob here.');
  await mine.waitFor({ timeout: 30_000 });
  assert.equal(await mine.getByText(/^Read /).count(), 0, 'not read before the link is opened');

  // Ann opens the link in the mail: Bob sees "Read …" under his message.
  const ann = await guestOpens((await newPage()).context(), 2);
  await bob.getByRole('button', { name: 'Check for new messages' }).click();
  await message(bob, 'Hello Ann, Bob here.').getByText(/^Read /).waitFor({ timeout: 10_000 });
  // Her own message is not his to see a receipt on.
  assert.equal(await message(bob, 'Hello Bob, this is Ann.').getByText(/^Read /).count(), 0);
  // Bob opened the conversation before she did: her first message is read.
  await message(ann, 'Hello Bob, this is Ann.').getByText(/^Read /).waitFor();
  assert.equal(await message(ann, 'Hello Ann, Bob here.').getByText(/^Read /).count(), 0);

  // Ann replies: unread until Bob reads it.
  await ann.getByLabel('Your reply').fill('Thanks, Bob.');
  await ann.getByRole('button', { name: 'Send' }).click();
  await message(ann, 'Thanks, Bob.').waitFor();
  assert.equal(await message(ann, 'Thanks, Bob.').getByText(/^Read /).count(), 0);
  await bob.getByRole('button', { name: 'Check for new messages' }).click();
  await message(bob, 'Thanks, Bob.').waitFor({ timeout: 10_000 });
  const again = await guestOpens(ann.context(), 2);
  await message(again, 'Thanks, Bob.').getByText(/^Read /).waitFor({ timeout: 10_000 });

  // Ann turns hers off: no receipts on either side.
  const receipts = again.getByLabel('Show when I have read messages (and see when mine are read)');
  await again.locator('#read-receipts:enabled').waitFor();
  assert.equal(await receipts.isChecked(), true);
  const saved = again.waitForResponse((r) => r.url().endsWith('/read-receipts') && r.status() === 204);
  await receipts.uncheck();
  await saved;
  await bob.getByRole('button', { name: 'Check for new messages' }).click();
  await message(bob, 'Thanks, Bob.').waitFor({ timeout: 10_000 });
  await bob.getByRole('list', { name: 'Messages' }).waitFor();
  assert.equal(await bob.getByText(/^Read /).count(), 0, 'her switch hides his receipts');
  const after = await guestOpens(again.context(), 2);
  await after.locator('#read-receipts:enabled').waitFor();
  assert.equal(await after.getByLabel('Show when I have read messages (and see when mine are read)').isChecked(), false);
  assert.equal(await after.getByText(/^Read /).count(), 0, 'and hers');

  // On again, she sees Bob's reading again; then Bob turns his off in his
  // settings, and she sees none.
  const back = after.waitForResponse((r) => r.url().endsWith('/read-receipts') && r.status() === 204);
  await after.getByLabel('Show when I have read messages (and see when mine are read)').check();
  await back;
  const on = await guestOpens(after.context(), 2);
  await message(on, 'Thanks, Bob.').getByText(/^Read /).waitFor({ timeout: 10_000 });
  await bob.getByRole('navigation').getByRole('link', { name: 'Settings' }).click();
  await bob.locator('#read-receipts:enabled').waitFor({ timeout: 30_000 });
  const his = bob.getByLabel('Show guests when I have read their messages');
  assert.equal(await his.isChecked(), true);
  await his.uncheck();
  await bob.getByRole('region', { name: 'Read receipts' }).getByText('Saved.').waitFor();
  const off = await guestOpens(on.context(), 2);
  await message(off, 'Thanks, Bob.').waitFor();
  assert.equal(await off.getByText(/^Read /).count(), 0, 'his switch hides hers');
});
