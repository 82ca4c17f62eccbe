// How a person reaches a page after the first one: he clicks. A link that
// came by e-mail is clicked in the mail itself: the mail's HTML, as maildev
// received it, shown in a new tab of his browser (as a webmail opens it),
// or, for a link someone handed over in a message of their own, that
// message's text with its addresses as links.

/** Opens `mail` (a maildev message) in a new tab of `context`, clicks its
 * link named `name`, and returns that tab once it has left the mail. */
export async function clickLinkInMail(context, mail, name = 'Open the conversation') {
  if (!mail.html) throw new Error(`the mail "${mail.subject}" has no HTML part`);
  const tab = await context.newPage();
  await tab.setContent(mail.html);
  return follow(tab, tab.getByRole('link', { name, exact: true }));
}

/** Shows `text` (a message a person wrote) in a new tab, every http(s)
 * address in it a link, clicks the one that contains `part`, and returns
 * the tab. */
export async function clickLinkInText(context, text, part = '/open') {
  const escape = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const html = escape(text).replace(/https?:\/\/[^\s<]+/g, (url) => `<a href="${url}">${url}</a>`);
  const tab = await context.newPage();
  await tab.setContent(`<!doctype html><title>Message</title><pre>${html}</pre>`);
  const links = tab.locator('a');
  for (let i = 0; i < (await links.count()); i++) {
    const link = links.nth(i);
    if ((await link.getAttribute('href')).includes(part)) return follow(tab, link);
  }
  throw new Error(`no link with ${part} in: ${text}`);
}

async function follow(tab, link) {
  await link.click();
  await tab.waitForURL((url) => url.protocol.startsWith('http'));
  return tab;
}
