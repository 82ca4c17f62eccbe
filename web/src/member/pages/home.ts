// The home page, the page for an unknown address, and the screen after
// signing out.
import { el, show } from '../../common/dom';
import { t } from '../../common/i18n';
import { leftRoute } from '../router';

export function homePage(signedIn: boolean): void {
  document.title = t('member.home.title');
  show(
    el('h1', {}, t('member.home.heading')),
    el('p', {}, t('member.home.intro')),
    el(
      'ul',
      {},
      el('li', {}, t('member.home.point1')),
      el('li', {}, t('member.home.point2')),
      el('li', {}, t('member.home.point3')),
    ),
    signedIn
      ? el('p', {}, el('a', { href: '/inbox', class: 'button' }, t('member.home.to_inbox')))
      : el(
          'p',
          { class: 'choices' },
          el('a', { href: '/signup', class: 'button' }, t('member.signup.link')),
          ' ',
          el('a', { href: '/signin', class: 'button secondary' }, t('member.signin.link')),
        ),
  );
}

export function notFoundPage(): void {
  document.title = t('member.not_found.title');
  show(el('h1', {}, t('common.not_found.heading')), el('p', {}, t('common.not_found.text')), el('a', { href: '/' }, t('member.not_found.home')));
}

/** After "Sign out". The address becomes /signin (a reload signs in), but
 * this screen is not the sign-in page: its links to /signin must work. */
export function signedOutPage(ended: boolean): void {
  leftRoute(() => signedOutPage(ended));
  show(
    el('h1', {}, ended ? t('member.signed_out.heading') : t('member.signed_out.failed_heading')),
    ended
      ? el('p', {}, t('member.signed_out.text'))
      : el('p', { role: 'alert' }, t('member.signed_out.failed_text')),
    el('a', { href: '/signin' }, t('member.signed_out.again')),
  );
  history.replaceState(null, '', '/signin');
  document.title = t('member.signed_out.title');
}
