// The home page, the page for an unknown address, and the screen after
// signing out.
import { el, show } from '../../common/dom';
import { leftRoute } from '../router';

export function homePage(signedIn: boolean): void {
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

export function notFoundPage(): void {
  document.title = 'Not found — latchkey';
  show(el('h1', {}, 'Not found'), el('p', {}, 'There is no page at this address.'), el('a', { href: '/' }, 'Home'));
}

/** After "Sign out". The address becomes /signin (a reload signs in), but
 * this screen is not the sign-in page: its links to /signin must work. */
export function signedOutPage(ended: boolean): void {
  leftRoute();
  show(
    el('h1', {}, ended ? 'Signed out' : 'Not signed out on the server'),
    ended
      ? el('p', {}, 'Your key is gone from this tab and the session has ended on the server.')
      : el('p', { role: 'alert' }, 'Your key is gone from this tab, but the server could not be reached to end the session. Sign in and out again when you are online, or wait: the session ends by itself after 7 days without use.'),
    el('a', { href: '/signin' }, 'Sign in again'),
  );
  history.replaceState(null, '', '/signin');
  document.title = 'Signed out — latchkey';
}
