// The pages in German for a browser that asks for German, in English after
// a click on "English", and back: headless Chromium with a German locale
// (so Accept-Language says de-DE) against the real binary, maildev and the
// CLI, as in the other page tests. The words are taken from the catalogues
// (i18n/*.json), so that a better translation does not break the test but
// a page that shows the wrong language, or a key instead of its text, does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { launch } from './support/browser.mjs';
import { startMail, startServer } from './support/latchkey.mjs';
import { clickLinkInMail } from './support/person.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const ARTIFACTS = resolve(ROOT, 'test-artifacts/screenshots');
const CATALOGUE = {
  en: JSON.parse(await readFile(resolve(ROOT, 'i18n/en.json'), 'utf8')),
  de: JSON.parse(await readFile(resolve(ROOT, 'i18n/de.json'), 'utf8')),
};
const member = { LATCHKEY_HANDLE: 'bob', LATCHKEY_PASSWORD: 'a long member passphrase' };
const guestEmail = 'anna@gast.test';
// Written by people: German, so that no English is on a German page.
const FIRST = 'Guten Tag Bob, eine Frage zu Ihrem Angebot.';
const REPLY = 'Gern, hier ist die Antwort.';

// A German date and time ("30.11.2026, 19:57"), an English one ("Nov 30, 2026, 7:57 PM").
const GERMAN_TIME = /\b\d{1,2}\.\d{1,2}\.\d{4}, \d{1,2}:\d{2}\b/;
const ENGLISH_TIME = /\b[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}\s?[AP]M\b/;

let browser, mail, server;

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  mail = await startMail();
  server = await startServer(mail);
  browser = await launch();
  await server.cli(['member', 'add', '--name', 'Bob', '--email', 'bob@member.test'], member);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await mail?.stop();
});

/** The text of `key` in `lang`, its placeholders filled. */
function text(lang, key, params = {}) {
  const found = CATALOGUE[lang][key];
  assert.equal(typeof found, 'string', `${key} is in ${lang}.json`);
  return found.replace(/\{(\w+)\}/g, (whole, name) => params[name] ?? whole);
}

/** The English sentences of the pages (those German says otherwise), with
 * placeholders as wildcards. */
const ENGLISH = Object.entries(CATALOGUE.en)
  .filter(([k, v]) => /^(common|guest|member)\./.test(k) && v !== CATALOGUE.de[k] && v.length >= 12)
  .map(([k, v]) => ({
    key: k,
    pattern: new RegExp(v.split(/\{\w+\}/).map((part) => part.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&')).join('.*?')),
  }));
// Short words a leftover would show (whole words: "Send" is in "Senden").
const ENGLISH_WORDS = /\b(Send|Sign in|Sign up|Inbox|Settings|Message|Messages|Loading|Open|You|Your|Language)\b/;

/** The visible text of `page` is all German: no English page text, no [key]. */
async function allGerman(page, name) {
  assert.equal(await page.locator('html').getAttribute('lang'), 'de', `${name}: <html lang="de">`);
  const seen = await page.locator('body').innerText();
  assert.doesNotMatch(seen, /\[(common|guest|member|mail|server)\.[\w.]+\]/, `${name}: a key shows instead of its text`);
  const leftovers = ENGLISH.filter(({ pattern }) => pattern.test(seen)).map(({ key }) => key);
  assert.deepEqual(leftovers, [], `${name}: English on a German page:\n${seen}`);
  assert.doesNotMatch(seen, ENGLISH_WORDS, `${name}: an English word on a German page`);
  await page.screenshot({ path: resolve(ARTIFACTS, `de-${name}.png`), fullPage: true });
}

/** Chooses the language `name` in the page's footer, as a person does
 * (a click, or Tab to it and Enter), and waits for the page to show
 * `heading` in it. */
async function switchTo(page, name, heading, { keyboard = false } = {}) {
  const choice = page.getByRole('contentinfo').getByRole('link', { name, exact: true });
  if (keyboard) {
    await choice.focus();
    await page.keyboard.press('Enter');
  } else {
    await choice.click();
  }
  await page.getByRole('heading', { name: heading, exact: true }).waitFor();
}

test('a guest whose browser asks for German reads German, and switches to English and back', async () => {
  const context = await browser.newContext({ locale: 'de-DE', viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await page.goto(`${server.base}/m/bob`);
  await page.getByRole('heading', { name: text('de', 'guest.contact.heading', { member: 'Bob' }) }).waitFor();
  await allGerman(page, 'contact');

  await page.getByLabel(text('de', 'guest.field.email'), { exact: true }).fill(guestEmail);
  await page.getByLabel(text('de', 'guest.contact.name'), { exact: true }).fill('Anna');
  await page.getByLabel(text('de', 'guest.contact.message'), { exact: true }).fill(FIRST);
  await page.getByRole('button', { name: text('de', 'guest.contact.send'), exact: true }).click();
  await page.getByRole('heading', { name: text('de', 'guest.contact.sent_heading'), exact: true }).waitFor();
  await allGerman(page, 'contact-sent');

  // The mail comes in German too (the language he wrote in); its link is
  // clicked there, in a fresh browser profile (nothing cached: the size
  // counted below is all the page needs).
  const first = await mail.message(guestEmail, 1);
  assert.equal(first.subject, text('de', 'mail.link.first_contact.subject', { member: 'Bob' }));
  const reader = await browser.newContext({ locale: 'de-DE', viewport: { width: 390, height: 844 } });
  const loaded = [];
  const record = (r) => loaded.push(r);
  reader.on('requestfinished', record);
  const tab = await clickLinkInMail(reader, first, text('de', 'mail.link.button'));
  const wrote = { de: text('de', 'guest.open.wrote', { member: 'Bob' }), en: text('en', 'guest.open.wrote', { member: 'Bob' }) };
  await tab.getByRole('heading', { name: wrote.de, exact: true }).waitFor();
  reader.off('requestfinished', record);
  await allGerman(tab, 'link');

  // The budget holds in German too (its texts are longer than English).
  let transferred = 0;
  for (const r of loaded) transferred += (await r.sizes()).responseBodySize;
  console.log(`guest link page in German: ${loaded.length} requests, ${transferred} B transferred (gzip)`);
  assert.ok(transferred <= 55_000, `${transferred} B`);

  // Before the link is opened: the reload keeps it (encrypted in the tab).
  await switchTo(tab, 'English', wrote.en);
  assert.equal(await tab.locator('html').getAttribute('lang'), 'en');
  await tab.getByLabel(text('en', 'guest.field.email'), { exact: true }).waitFor();
  await switchTo(tab, 'Deutsch', wrote.de, { keyboard: true });

  await tab.getByLabel(text('de', 'guest.field.email'), { exact: true }).fill(guestEmail);
  await tab.getByRole('button', { name: text('de', 'guest.open.submit'), exact: true }).click();
  const messages = tab.getByRole('list', { name: text('de', 'common.messages'), exact: true });
  await messages.getByText(FIRST).waitFor();
  assert.match(await messages.locator('.meta').first().innerText(), GERMAN_TIME);
  await allGerman(tab, 'conversation');

  // After it is opened: the reload reopens it (grace window), in English.
  const heading = (lang) => text(lang, 'guest.conversation.heading', { member: 'Bob' });
  await switchTo(tab, 'English', heading('en'));
  const english = tab.getByRole('list', { name: text('en', 'common.messages'), exact: true });
  await english.getByText(FIRST).waitFor();
  assert.match(await english.locator('.meta').first().innerText(), ENGLISH_TIME);
  await switchTo(tab, 'Deutsch', heading('de'));
  await messages.getByText(FIRST).waitFor();
  assert.match(await messages.locator('.meta').first().innerText(), GERMAN_TIME);
  await allGerman(tab, 'conversation-again');

  // The choice is the cookie: a new page of the site comes in it.
  await switchTo(tab, 'English', heading('en'));
  const again = await reader.newPage();
  await again.goto(`${server.base}/m/bob`);
  await again.getByRole('heading', { name: text('en', 'guest.contact.heading', { member: 'Bob' }) }).waitFor();
  await context.close();
  await reader.close();
});

test('a member whose browser asks for German signs in and reads his inbox in German', async () => {
  const context = await browser.newContext({ locale: 'de-DE', viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await page.goto(`${server.base}/`);
  await page.getByRole('link', { name: text('de', 'member.signin.link'), exact: true }).first().click();
  await page.getByRole('heading', { name: text('de', 'member.signin.heading'), exact: true }).waitFor();
  await allGerman(page, 'signin');

  await page.getByLabel(text('de', 'member.field.handle'), { exact: true }).fill('bob');
  await page.getByLabel(text('de', 'member.field.password'), { exact: true }).fill(member.LATCHKEY_PASSWORD);
  await page.getByRole('button', { name: text('de', 'member.signin.submit'), exact: true }).click();
  const inbox = { de: text('de', 'member.inbox.heading'), en: text('en', 'member.inbox.heading') };
  await page.getByRole('heading', { name: inbox.de, exact: true }).waitFor();
  const firstRow = (lang) => page.getByRole('list', { name: text(lang, 'member.inbox.list') }).getByRole('listitem').first();
  const row = firstRow('de');
  await row.waitFor();
  assert.match(await row.innerText(), GERMAN_TIME);
  await allGerman(page, 'inbox');

  // On the member's pages the switch happens in place: a reload would lock
  // the key, and the inbox shows again without asking for the password.
  await switchTo(page, 'English', inbox.en);
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  assert.match(await firstRow('en').innerText(), ENGLISH_TIME);
  await switchTo(page, 'Deutsch', inbox.de, { keyboard: true });

  // A conversation, and a reply in German.
  await row.getByRole('link').click();
  const reply = page.getByLabel(text('de', 'common.reply.label'), { exact: true });
  await reply.fill(REPLY);
  await page.getByRole('button', { name: text('de', 'common.reply.send'), exact: true }).click();
  await page.getByText(REPLY).waitFor();
  await allGerman(page, 'member-conversation');
  await context.close();
});
