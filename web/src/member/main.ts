// The member's pages: one shell (member.html) for /, /signup, /signin, /recover,
// /inbox, /conversations/ID and /settings. This script never loads the
// WebAssembly bundle and never holds a key: the Web Worker does
// (worker.ts). Moving between pages happens in place, so the worker and
// the unlocked key live as long as the tab; a reload asks for the password.
import { el, show } from '../common/dom';
import { recoverPage, signInPage, signUpPage, unlockPage } from './auth';
import { endWorker, rpc } from './client';
import { conversationPage } from './conversation';
import { inboxPage } from './inbox';
import { interceptLinks, navigate, setAfterSignIn, setRenderer } from './router';
import { hideNav, keyStatus, rememberedHandle, serverMember, signOut, updateNav } from './session';
import { settingsPage } from './settings';
import { retryBlock } from './ui';

const FULFIL_EVERY_MS = 60_000;

function homePage(signedIn: boolean): void {
  document.title = 'latchkey';
  show(
    el('h1', {}, 'latchkey'),
    el('p', {}, 'End-to-end-encrypted messages between you and people who have nothing but an e-mail address.'),
    el(
      'ul',
      {},
      el('li', {}, 'Guests write to you from your contact page. Their browser encrypts; only you can read it.'),
      el('li', {}, 'Your answers reach them as a one-time link by e-mail. The key is in the link, never on the server.'),
      el('li', {}, 'The server stores ciphertext and sealed keys only. Your password never leaves your browser.'),
    ),
    signedIn
      ? el('p', {}, el('a', { href: '/inbox', class: 'button' }, 'Go to your inbox'))
      : el(
          'p',
          { class: 'choices' },
          el('a', { href: '/signup', class: 'button' }, 'Sign up'),
          ' ',
          el('a', { href: '/signin', class: 'button secondary' }, 'Sign in'),
        ),
  );
}

function notFound(): void {
  document.title = 'Not found — latchkey';
  show(el('h1', {}, 'Not found'), el('p', {}, 'There is no page at this address.'), el('a', { href: '/' }, 'Home'));
}

/** Runs `page` with the key unlocked: else the Unlock screen (session alive) or sign-in. */
async function withKey(page: (handle: string) => Promise<void> | void): Promise<void> {
  const status = await keyStatus();
  // The session cookie is shared by every tab: another tab may have signed
  // out, or in as someone else. The key in this tab's worker is only good
  // for the member the server now knows. (Offline: trust the worker.)
  const member = await serverMember().catch(() => undefined);
  if (status.unlocked && status.handle && (member === undefined || member?.handle === status.handle)) {
    updateNav(true);
    return page(status.handle);
  }
  if (status.unlocked) endWorker();
  updateNav(false);
  // Locked and the server was out of reach: ask again, letting the error
  // through this time (the caller shows it with a retry).
  const known = member === undefined ? await serverMember() : member;
  if (!known) {
    setAfterSignIn(location.pathname);
    return navigate('/signin', true);
  }
  hideNav();
  const handle = known.handle || rememberedHandle() || '';
  const here = location.pathname;
  unlockPage(handle, () => {
    // Still the page that asked for the key: show it now.
    if (location.pathname === here) void render();
    else navigate(here);
  });
}

let rendering = 0;

async function render(): Promise<void> {
  const turn = ++rendering;
  const path = location.pathname;
  try {
    const conversation = /^\/conversations\/([0-9a-f]{32})$/.exec(path)?.[1];
    if (path === '/inbox') return await withKey((handle) => inboxPage(handle));
    if (conversation) return await withKey(() => conversationPage(conversation));
    if (path === '/settings') return await withKey(() => settingsPage());
    const unlocked = (await keyStatus()).unlocked;
    updateNav(unlocked);
    if (path === '/') return homePage(unlocked || (await serverMember().catch(() => null)) !== null);
    if (path === '/signup') return signUpPage();
    if (path === '/signin') return signInPage();
    if (path === '/recover') return recoverPage();
    return notFound();
  } catch (e) {
    if (turn !== rendering) return;
    show(el('h1', {}, 'This page could not load'), retryBlock(e, () => void render()));
  }
}

function main(): void {
  setRenderer(() => void render());
  interceptLinks();
  document.addEventListener('latchkey:signout', () => {
    void signOut().then((ended) => {
      updateNav(false);
      show(
        el('h1', {}, ended ? 'Signed out' : 'Not signed out on the server'),
        ended
          ? el('p', {}, 'Your key is gone from this tab and the session has ended on the server.')
          : el('p', { role: 'alert' }, 'Your key is gone from this tab, but the server could not be reached to end the session. Sign in and out again when you are online, or wait: the session ends by itself after 7 days without use.'),
        el('a', { href: '/signin' }, 'Sign in again'),
      );
      history.replaceState(null, '', '/signin');
      document.title = 'Signed out — latchkey';
    });
  });
  // Guests who ask for a new link get it while the member is signed in.
  setInterval(() => {
    void keyStatus()
      .then((s) => (s.unlocked ? rpc('fulfilAll', null) : 0))
      .catch(() => undefined);
  }, FULFIL_EVERY_MS);
  void render();
}

main();
