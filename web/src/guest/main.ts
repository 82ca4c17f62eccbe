// The guest's pages: /m/HANDLE (write to a member) and /open#k1… (a link
// from an e-mail). Loads the guest WebAssembly bundle only: no OPAQUE, no
// member code.
import init from 'latchkey-wasm-guest';
import { el, show } from '../common/dom';
import { contactPage } from './contact';
import { rememberLink } from './link-store';
import { openPage, takeFragment } from './open';

// First thing, before any request: the link key leaves the address bar, as
// bytes that openPage wipes once it has parsed them.
const fragment = location.pathname === '/open' ? takeFragment() : null;

async function main(): Promise<void> {
  // Its encrypted copy is made meanwhile (it takes its own copy of the
  // bytes at once), so a reload while the code loads keeps the link too.
  const remembered = fragment ? rememberLink(fragment, false) : Promise.resolve();
  await init({ module_or_path: '/assets/guest.wasm' });
  const path = location.pathname;
  const handle = /^\/m\/([A-Za-z0-9-]{3,32})\/?$/.exec(path)?.[1];
  if (handle) return contactPage(handle.toLowerCase());
  if (path === '/open') {
    // Another link pasted into this tab changes only the fragment: start
    // over with a clean page rather than race the first one.
    window.addEventListener('hashchange', () => location.reload());
    await remembered;
    return openPage(fragment);
  }
  fragment?.fill(0);
  show(el('h1', {}, 'Not found'), el('p', {}, 'There is no page at this address.'));
}

main().catch(() => {
  fragment?.fill(0);
  show(
    el('h1', {}, 'This page could not start'),
    el('p', {}, 'Your browser could not load the code this page needs. Reload the page to try again.'),
  );
});
