// The guest's pages: /m/HANDLE (write to a member), the same form framed
// in the site's own pages at /embed/m/HANDLE (see embed.ts), and /open#k1…
// (a link from an e-mail, also when a mail gateway rewrote it; see
// address.ts).
// Loads the guest WebAssembly bundle only: no OPAQUE, no member code.
import init from 'latchkey-wasm-guest';
import { el, show } from '../common/dom';
import { showLanguages, t } from '../common/i18n';
import { takeLinkFromAddress } from './address';
import { contactPage } from './contact';
import { embedded, prepareFrame } from './embed';
import { rememberLink } from './link-store';
import { openPage } from './open';

// First thing, before any request: the link key leaves the address bar, as
// bytes that openPage wipes once it has parsed them. Every form of the link
// page's address is `/open` from here on.
const fragment = takeLinkFromAddress();
const linkPage = location.pathname === '/open';

/** Whether this browser runs WebAssembly. Lockdown Mode on an iPhone, iPad
 * or Mac turns it off (the `WebAssembly` object is gone), and so can a
 * browser's policy. Validating the smallest module compiles nothing. */
function hasWebAssembly(): boolean {
  try {
    return (
      typeof WebAssembly === 'object' &&
      WebAssembly.validate(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]))
    );
  } catch {
    return false;
  }
}

/** Without WebAssembly the page cannot decrypt; saying so, and what helps.
 * Reloading never does. The link has not been shown to the server, so it is
 * not used up. */
function noWebAssembly(): void {
  show(
    el('h1', {}, linkPage ? t('guest.nowasm.open_heading') : t('guest.nowasm.send_heading')),
    el('p', {}, t('guest.nowasm.why')),
    el('p', {}, linkPage ? t('guest.nowasm.open_help') : t('guest.nowasm.send_help')),
    el('p', { class: 'hint' }, t('guest.nowasm.safari')),
  );
}

async function main(): Promise<void> {
  // Its encrypted copy is made meanwhile (it takes its own copy of the
  // bytes at once), so a reload while the code loads keeps the link too,
  // and so does the page that comes back once Lockdown Mode is off.
  const remembered = fragment ? rememberLink(fragment, false) : Promise.resolve();
  // Another language is the same page again: the reload finds the link in
  // the tab's encrypted copy, once that is written.
  const reload = (): void => location.reload();
  // In a frame the language comes from the guest's browser: the switcher's
  // cookie is not sent to a frame inside another site.
  if (embedded()) prepareFrame();
  else showLanguages(() => void remembered.then(reload, reload));
  if (!hasWebAssembly()) {
    await remembered;
    fragment?.fill(0);
    return noWebAssembly();
  }
  await init({ module_or_path: '/assets/guest.wasm' });
  const path = location.pathname;
  const handle = /^(?:\/embed)?\/m\/([A-Za-z0-9-]{3,32})\/?$/.exec(path)?.[1];
  if (handle) return contactPage(handle.toLowerCase(), embedded());
  if (linkPage) {
    // Another link pasted into this tab changes only the fragment: start
    // over with a clean page rather than race the first one.
    window.addEventListener('hashchange', () => location.reload());
    await remembered;
    return openPage(fragment);
  }
  fragment?.fill(0);
  show(el('h1', {}, t('common.not_found.heading')), el('p', {}, t('common.not_found.text')));
}

main().catch(() => {
  fragment?.fill(0);
  show(
    el('h1', {}, t('guest.start_failed.heading')),
    el('p', {}, t('guest.start_failed.text')),
  );
});
