// The guest's story in the three engines a guest may read her mail in:
// Chromium, Firefox ESR and WebKitGTK (Safari's engine, as on an iPhone),
// one after the other, each at phone width (support/engines.mjs). The
// links come from real mail (maildev) and are clicked in the mail; the
// member's side is the latchkey CLI.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ENGINES, PHONE, startEngine } from './support/engines.mjs';
import { startMail, startServer } from './support/latchkey.mjs';
import { startWebmail } from './support/webmail.mjs';

const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts/screenshots');
const MESSAGES = '[aria-label="Messages"]';
const PASSWORD = 'a long member passphrase';

let mail, server, webmail;
const timings = [];

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  mail = await startMail();
  // The member's client logs in for every command, all from this one
  // address: more than a minute's default budget across three engines.
  server = await startServer(mail, { LATCHKEY_RATE_LIMITS__LOGIN_PER_IP_PER_MINUTE: '200' });
  webmail = await startWebmail();
  // One member per engine, so that each inbox holds one conversation.
  await Promise.all(
    ENGINES.map((engine) =>
      server.cli(['member', 'add', '--name', 'Bob Builder', '--email', `bob-${engine}@member.test`], {
        LATCHKEY_HANDLE: `bob-${engine}`,
        LATCHKEY_PASSWORD: PASSWORD,
      }),
    ),
  );
});

after(async () => {
  await webmail?.close();
  await server?.stop();
  await mail?.stop();
  for (const t of timings) console.log(t);
});

/** The page fits a phone: the viewport is a phone's, and nothing is wider. */
async function fits(guest, where) {
  const { innerWidth, scrollWidth } = await guest.layout();
  assert.equal(innerWidth, PHONE.width, `${guest.engine}, ${where}: the viewport is ${innerWidth} px wide`);
  assert.ok(
    scrollWidth <= innerWidth,
    `${guest.engine}, ${where}: the page is ${scrollWidth} px wide in a ${innerWidth} px viewport`,
  );
}

for (const name of ENGINES) {
  describe(name, () => {
    let engine, began, storyTook;
    before(async () => {
      began = Date.now();
      engine = await startEngine(name);
    });
    after(async () => {
      await engine?.close();
      const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
      timings.push(`${name}: ${seconds(Date.now() - began)} (the story ${storyTook === undefined ? 'failed' : seconds(storyTook)})`);
    });

    test(`a guest writes, opens her link from the mail, replies, reloads, and opens a hand-delivered link (${name})`, async () => {
      const started = Date.now();
      const member = { LATCHKEY_HANDLE: `bob-${name}`, LATCHKEY_PASSWORD: PASSWORD };
      const address = `ann-${name}@guest.test`;
      const guest = await engine.guest();
      try {
        // The contact page, whose address the member gave her: typed in.
        await guest.goto(`${server.base}/m/bob-${name}`);
        await guest.waitFor('heading', 'Write to Bob Builder');
        await fits(guest, 'contact page');
        await guest.fill('Your e-mail address', address);
        await guest.fill('Your name (optional)', 'Ann');
        await guest.fill('Message', `Hello Bob, Ann here, writing from ${name}.`);
        await guest.click('button', 'Send');
        await guest.waitFor('heading', 'Sent');
        await fits(guest, 'sent');

        // The member reads it (CLI) and answers before Ann opens her link.
        const inbox = await server.cli(['inbox'], member);
        const conversation = inbox.split(/\s+/)[0];
        assert.match(await server.cli(['read', conversation], member), new RegExp(`writing from ${name}`));
        await server.cli(['send', conversation, 'Hello Ann, Bob answers.'], member);

        // Her link comes by e-mail: she opens the mail and clicks it there.
        const first = await mail.message(address, 1);
        await guest.goto(webmail.address(first));
        await guest.click('link', 'Open the conversation');
        await guest.waitFor('heading', 'Bob Builder wrote to you');
        assert.ok(!(await guest.url()).includes('#'), 'the link left the address bar');
        await fits(guest, 'link page');
        await guest.fill('Your e-mail address', address);
        await guest.click('button', 'Open conversation');
        await guest.waitForText('Hello Ann, Bob answers.', MESSAGES);
        await guest.waitForText(`writing from ${name}`, MESSAGES);
        await fits(guest, 'conversation');

        // She replies; the member reads it.
        await guest.fill('Your reply', 'Thank you, Bob.');
        await guest.click('button', 'Send reply');
        await guest.waitForText('Thank you, Bob.', MESSAGES);
        assert.match(await server.cli(['read', conversation], member), /Thank you, Bob\./);

        // A reload inside the grace window shows the conversation again.
        await guest.reload();
        await guest.waitForText('Thank you, Bob.', MESSAGES);
        await fits(guest, 'conversation after a reload');

        // A link the member delivers himself (no e-mail): she pastes it
        // into the address bar.
        const sent = await server.cli(['send', conversation, 'Delivered by hand.', '--deliver-myself'], member);
        const byHand = /give the guest this link: (\S+)/.exec(sent)?.[1];
        assert.ok(byHand, sent);
        await guest.goto(byHand);
        await guest.waitFor('heading', 'Bob Builder wrote to you');
        assert.ok(!(await guest.url()).includes('#'), 'the hand-delivered link left the address bar');
        await fits(guest, 'link page (hand-delivered)');
        await guest.fill('Your e-mail address', address);
        await guest.click('button', 'Open conversation');
        await guest.waitForText('Delivered by hand.', MESSAGES);
        await fits(guest, 'conversation (hand-delivered)');
      } catch (e) {
        await guest.screenshot(resolve(ARTIFACTS, `engines-${name}-failed.png`)).catch(() => undefined);
        throw e;
      } finally {
        await guest.close();
      }
      storyTook = Date.now() - started;
    });
  });
}
