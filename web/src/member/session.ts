// What the page knows about the member's session (never a key).
import { api, ApiError } from '../common/api';
import { el } from '../common/dom';
import { t } from '../common/i18n';
import { endWorker, rpc } from './client';
import type { MemberView, WorkerStatus } from './rpc';

const HANDLE = 'latchkey.member.handle';

export function rememberHandle(handle: string): void {
  sessionStorage.setItem(HANDLE, handle);
}

export function rememberedHandle(): string | null {
  return sessionStorage.getItem(HANDLE);
}

export function keyStatus(): Promise<WorkerStatus> {
  return rpc('status', null);
}

/** The server's view of the session: the member, or null if not signed in. */
export async function serverMember(): Promise<MemberView | null> {
  try {
    return await api.get<MemberView>('/me');
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

/** Ends the worker (and the key in it) and the server session; says
 * whether the server confirmed the end of the session. */
export async function signOut(): Promise<boolean> {
  endWorker();
  sessionStorage.removeItem(HANDLE);
  try {
    await api.post<null, Record<string, never>>('/session/logout', {});
    return true;
  } catch {
    return false;
  }
}

/** The header: where a member can go from here. */
export function updateNav(unlocked: boolean): void {
  const nav = document.getElementById('nav');
  if (!nav) return;
  const here = location.pathname;
  const link = (href: string, text: string): HTMLAnchorElement =>
    el('a', { href, 'aria-current': here === href ? 'page' : undefined }, text);
  if (unlocked) {
    const out = el('button', { type: 'button', class: 'linkish', id: 'sign-out' }, t('member.nav.sign_out'));
    out.addEventListener('click', () => document.dispatchEvent(new CustomEvent('latchkey:signout')));
    nav.replaceChildren(link('/inbox', t('member.nav.inbox')), link('/settings', t('member.nav.settings')), out);
  } else {
    nav.replaceChildren(link('/signin', t('member.signin.link')), link('/signup', t('member.signup.link')));
  }
}

/** No way around a step that must be finished (the recovery key screen). */
export function hideNav(): void {
  document.getElementById('nav')?.replaceChildren();
}
