// The guest's webmail, as far as the tests need one: it shows a mail's HTML
// part, exactly as maildev received it, at an address of its own, so that a
// browser of any engine opens the mail and the guest clicks its link there.
import { createServer } from 'node:http';

export async function startWebmail() {
  const pages = new Map();
  const server = createServer((req, res) => {
    const html = pages.get(req.url);
    if (html === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    /** The address at which `mail` (a maildev message) can be read. */
    address(mail) {
      if (!mail.html) throw new Error(`the mail "${mail.subject}" has no HTML part`);
      const path = `/mail/${pages.size + 1}`;
      pages.set(path, mail.html);
      return origin + path;
    },
    close: () => new Promise((ok) => server.close(ok)),
  };
}
