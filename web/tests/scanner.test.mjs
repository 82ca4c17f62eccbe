// A mail-security scanner let loose on the guest's link, as mail gateways
// run them: a headless browser opens the link from the mail, fills every
// field with junk (junk e-mail addresses too), submits every form and
// clicks every button, hidden ones included, round after round until the
// page shows nothing new. What it must not do (docs/scanners.md): use the
// link up, delete the conversation, or post a message. The member's side
// (the latchkey CLI) checks that; then the real guest clicks the same link
// in the same mail after the grace window, types his address, and reads.
//
// The same scanner also runs inside the guest's own open conversation (an
// extension, or a sandbox that reuses his session): there it is the guest,
// as far as the server can tell. It still cannot delete the conversation
// (that needs a word typed); it can post a reply in his name and sign him
// out, and this test says so rather than pretend otherwise.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from './support/browser.mjs';
import { startMail, startServer } from './support/latchkey.mjs';
import { clickLinkInMail } from './support/person.mjs';

const GRACE_SECS = 6;
const member = { LATCHKEY_HANDLE: 'bob', LATCHKEY_PASSWORD: 'a long member passphrase' };
const guestEmail = 'ann@guest.test';
// The gateway and the guest reach latchkey from different addresses, as
// they do in production, through the reverse proxy the server trusts (here
// the test sets the header that proxy would set).
const GATEWAY = '203.0.113.7';
const GUEST = '198.51.100.20';
const JUNK = ['test', 'aaaaaaaaaaaaaaaa', "' OR 1=1 --", '<script>alert(1)</script>', 'DELETE ME', '0', 'https://example.com/'];
// What a scanner types where a page asks for an e-mail address.
const JUNK_EMAILS = ['scanner@sandbox.invalid', 'test@example.com'];
const CLICKABLE = 'button, input[type=submit], input[type=button], input[type=checkbox], input[type=radio], [role=button]';

let browser, mail, server, conversation;

before(async () => {
  mail = await startMail();
  server = await startServer(mail, {
    LATCHKEY_LINKS__GRACE_SECS: String(GRACE_SECS),
    // One mail per link, so that every step has the mail it needs.
    LATCHKEY_LINKS__COALESCE_SECS: '0',
    LATCHKEY_CLIENT_IP_HEADER: 'x-forwarded-for',
    // The member's CLI signs in for every command, and this test asks often.
    LATCHKEY_RATE_LIMITS__LOGIN_PER_HANDLE_PER_MINUTE: '1000',
    LATCHKEY_RATE_LIMITS__LOGIN_PER_IP_PER_MINUTE: '1000',
  });
  browser = await launch();
  await server.cli(['member', 'add', '--name', 'Bob Builder', '--email', 'bob@member.test'], member);
  await server.cli(['contact', 'bob', '--email', guestEmail, '--name', 'Ann', 'Hello Bob, this is Ann.'], {});
  conversation = (await server.cli(['inbox'], member)).split(/\s+/)[0];
  await server.cli(['send', conversation, 'Hello Ann, Bob here.'], member);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await mail?.stop();
});

/** A browser profile coming from `ip`, whose every API answer is recorded. */
async function contextFrom(ip) {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    extraHTTPHeaders: { 'x-forwarded-for': ip },
  });
  const answers = [];
  context.on('response', (r) => {
    const url = new URL(r.url());
    if (url.pathname.startsWith('/api/v1/')) {
      answers.push({ method: r.request().method(), path: url.pathname, status: r.status() });
    }
  });
  return { context, answers };
}

/** Every text the scanner saw on a page after one of its actions. */
const sightings = new WeakMap();

/** Waits until the page has sent nothing for a while, then notes what it shows. */
async function settle(page) {
  let last = Date.now();
  const bump = () => {
    last = Date.now();
  };
  page.on('request', bump);
  page.on('requestfinished', bump);
  page.on('requestfailed', bump);
  try {
    while (Date.now() - last < 400) await page.waitForTimeout(100);
  } finally {
    page.off('request', bump);
    page.off('requestfinished', bump);
    page.off('requestfailed', bump);
  }
  const text = await page.evaluate(() => document.body.innerText).catch(() => '');
  if (!sightings.has(page)) sightings.set(page, []);
  sightings.get(page).push(text.replace(/\s+/g, ' '));
}

/** Whether the scanner saw `pattern` on `page` at some point. */
const saw = (page, pattern) => (sightings.get(page) ?? []).some((t) => pattern.test(t));

/** What the page shows that a scanner could act on: headings, texts and controls. */
function seen(page) {
  return page
    .evaluate((clickable) => {
      const out = [];
      for (const e of document.querySelectorAll(`h1, h2, p, label, input, textarea, form, ${clickable}`)) {
        out.push(`${e.tagName}:${(e.textContent ?? '').trim().slice(0, 80)}:${e.hidden || e.closest('[hidden]') ? 'hidden' : ''}`);
      }
      return out;
    }, CLICKABLE)
    .catch(() => []);
}

/** One round: junk into every field, every form submitted (by the page's
 * rules and around them), every button clicked, last one first. */
async function scanRound(page, round) {
  const email = JUNK_EMAILS[round % JUNK_EMAILS.length];
  const fields = page.locator('input:not([type=checkbox]):not([type=radio]):not([type=submit]):not([type=button]), textarea');
  for (let i = 0; i < (await fields.count().catch(() => 0)); i++) {
    const field = fields.nth(i);
    const type = await field.getAttribute('type', { timeout: 1000 }).catch(() => null);
    const value = type === 'email' ? email : JUNK[(i + round) % JUNK.length];
    const typed = (await field.isVisible().catch(() => false)) && (await field.isEditable().catch(() => false));
    if (typed) {
      await field.fill(value, { timeout: 2000 }).catch(() => undefined);
    } else {
      // Hidden fields get junk too, the way a script sets them.
      await field
        .evaluate((e, v) => {
          e.value = v;
          e.dispatchEvent(new Event('input', { bubbles: true }));
          e.dispatchEvent(new Event('change', { bubbles: true }));
        }, value)
        .catch(() => undefined);
    }
  }
  // Every form, three ways: as the browser submits it (its checks and its
  // submit event), a bare submit event, and form.submit(), which skips both.
  for (const how of ['requestSubmit', 'event', 'native']) {
    await page
      .evaluate((how) => {
        for (const form of document.forms) {
          try {
            if (how === 'requestSubmit') form.requestSubmit();
            else if (how === 'event') form.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
            else form.submit();
          } catch {
            /* a scanner does not care */
          }
        }
      }, how)
      .catch(() => undefined);
    await settle(page);
  }
  // Every button, the last one on the page first, hidden ones by a
  // dispatched click. (In document order, "Sign out" would end the guest's
  // session in his conversation before the deletion's buttons came up;
  // last first, those are pressed while their box is still hidden, then
  // "Delete this conversation" opens it, then "Sign out".)
  const buttons = await page.locator(CLICKABLE).elementHandles().catch(() => []);
  for (const button of buttons.reverse()) {
    const connected = await button.evaluate((e) => e.isConnected).catch(() => false);
    if (!connected) continue;
    if (await button.isVisible().catch(() => false)) {
      await button.click({ force: true, timeout: 2000 }).catch(() => undefined);
    } else {
      await button.dispatchEvent('click').catch(() => undefined);
    }
    await settle(page);
  }
}

/** Rounds until one shows nothing new (at least two, at most six). */
async function scan(page) {
  const known = new Set();
  for (let round = 0; round < 6; round++) {
    await scanRound(page, round);
    const now = await seen(page);
    const fresh = now.filter((s) => !known.has(s));
    for (const s of now) known.add(s);
    if (round >= 1 && fresh.length === 0) return round + 1;
  }
  return 6;
}

/** The conversation as the member's CLI reads it. */
async function memberView() {
  const inbox = await server.cli(['inbox'], member);
  const read = inbox.includes(conversation) ? await server.cli(['read', conversation], member) : '';
  return { inbox, read, messages: read.split('\n').filter((l) => /^\[\d+\] /.test(l)) };
}

const redeems = (answers) => answers.filter((a) => a.path === '/api/v1/grants/redeem');

test('a scanner that clicks everything on a fresh link uses nothing up; the guest opens it afterwards', async () => {
  const linkMail = await mail.message(guestEmail, 2);

  // The gateway scans the mail when it arrives, and again when the guest
  // clicks (time-of-click protection): twice, each in a fresh sandbox.
  let tried = [];
  for (const pass of ['on arrival', 'at the click']) {
    const { context, answers } = await contextFrom(GATEWAY);
    const page = await clickLinkInMail(context, linkMail);
    await page.getByRole('heading', { name: 'Bob Builder wrote to you' }).waitFor();
    const rounds = await scan(page);
    console.log(`scanner ${pass}: ${rounds} rounds, API answers: ${answers.map((a) => `${a.method} ${a.path} ${a.status}`).join(', ')}`);
    // It did try the link with its junk, and every try was refused.
    assert.ok(redeems(answers).length >= 1, 'the scanner never reached the redeem');
    for (const a of redeems(answers)) assert.ok([403, 429].includes(a.status), `a redeem answered ${a.status}`);
    assert.ok(saw(page, /This link was sent to another address/), 'the page never refused the junk');
    tried = tried.concat(redeems(answers));
    await context.close();
  }

  // The member's side: nothing posted, nothing deleted, the link not used
  // (no link of the conversation was ever redeemed: the address is unconfirmed).
  let view = await memberView();
  assert.match(view.inbox, new RegExp(`${conversation}\\s+2 message\\(s\\), \\d+ unread, address not yet confirmed`));
  assert.equal(view.messages.length, 2, view.read);
  assert.match(view.read, /Hello Bob, this is Ann\./);
  assert.match(view.read, /Hello Ann, Bob here\./);
  console.log(`redeems the scanner sent with junk addresses: ${tried.length}`);

  // Long after any grace window the scanner's click could have started,
  // the guest clicks the link in the same mail, types his address, reads.
  await new Promise((ok) => setTimeout(ok, (GRACE_SECS + 1.5) * 1000));
  const guest = await contextFrom(GUEST);
  const page = await clickLinkInMail(guest.context, linkMail);
  await page.getByLabel('Your e-mail address').fill(guestEmail);
  await page.getByRole('button', { name: 'Open conversation' }).click();
  const messages = page.getByRole('list', { name: 'Messages' });
  await messages.getByText('Hello Ann, Bob here.').waitFor();
  await messages.getByText('Hello Bob, this is Ann.').waitFor();

  // While his grace window runs, a scanner in a sandbox of its own clicks
  // the link again: it reaches nothing either (its tries are refused, or
  // come after the window and find the link used).
  {
    const { context, answers } = await contextFrom(GATEWAY);
    const again = await clickLinkInMail(context, linkMail);
    await again.getByRole('heading', { name: 'Bob Builder wrote to you' }).waitFor();
    await scan(again);
    assert.ok(redeems(answers).length >= 1, 'the scanner never reached the redeem');
    for (const a of redeems(answers)) assert.ok([403, 410, 429].includes(a.status), `a redeem answered ${a.status}`);
    assert.equal(await again.getByRole('list', { name: 'Messages' }).count(), 0);
    await context.close();
  }
  assert.doesNotMatch((await memberView()).inbox, /address not yet confirmed/);

  // The scanner inside the guest's own session, on his open conversation.
  // It is the guest as far as the server can tell; what it must not do is
  // delete, and it pressed every button of the deletion to try.
  const before = (await memberView()).messages.length;
  const deleting = [];
  page.on('request', (r) => {
    if (r.method() === 'DELETE') deleting.push(r.url());
  });
  await scan(page);
  assert.deepEqual(deleting, [], 'the scanner sent a deletion');
  assert.ok(saw(page, /Nothing was deleted\. To delete, type the word/), 'the scanner never reached the deletion');
  view = await memberView();
  assert.ok(view.inbox.includes(conversation), 'the conversation is gone');
  assert.match(view.read, /Hello Bob, this is Ann\./);
  assert.match(view.read, /Hello Ann, Bob here\./);
  // What it can do, said plainly: post a reply in the guest's name (it
  // filled the reply box and pressed "Send reply") and sign him out. Any
  // message it left is the guest's, after the two that were there.
  const added = view.messages.slice(before);
  console.log(`in the guest's session the scanner posted ${added.length} message(s): ${added.join(' | ')}`);
  for (const line of added) assert.match(line, /^\[\d+\] guest:/);
  assert.ok(added.length <= 1, view.read);

  // After the grace window the scanner clicks the link once more, and
  // fills the new-link form it finds there with junk: no link, no mail.
  await new Promise((ok) => setTimeout(ok, (GRACE_SECS + 1.5) * 1000));
  const mails = (await mail.all()).length;
  {
    const { context, answers } = await contextFrom(GATEWAY);
    const late = await clickLinkInMail(context, linkMail);
    await late.getByRole('heading', { name: 'This link has been used' }).waitFor();
    await scan(late);
    assert.equal(redeems(answers).filter((a) => a.status < 400).length, 0);
    assert.equal(await late.getByRole('list', { name: 'Messages' }).count(), 0);
    await context.close();
  }
  await new Promise((ok) => setTimeout(ok, 1500));
  assert.equal((await mail.all()).length, mails, 'the scanner made the server send mail');
  view = await memberView();
  assert.ok(view.inbox.includes(conversation));
  assert.equal(view.messages.length, before + added.length);
});
