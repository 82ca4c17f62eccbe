// /enroll#TOKEN: a member the site invited sets up his account. The token
// is in the fragment, so it never travels in a URL; the page takes it out
// of the address bar at once and sends it only in request bodies. He then
// registers as sign-up does (OPAQUE in the worker, a new key, a recovery
// key shown once), with the token in place of a registration code, for the
// handle the site chose. Or, where the browser can do passkeys, he sets
// up his key with a passkey and no password at all (a member who signs in
// with the site's account needs no second password): the passkey is made
// first, then the worker seals the new key under it (passkey.ts).
import { api, ApiError, type EnrollPeek, type Enrollment } from '../../common/api';
import { el, field, show, statusLine } from '../../common/dom';
import { t } from '../../common/i18n';
import { rpc } from '../client';
import { enrollWithPasskey, passkeysSupported } from '../passkey';
import type { SignUpResult } from '../rpc';
import { rememberHandle } from '../session';
import { describe, retryBlock } from '../ui';
import { MIN_PASSWORD, passwordProblem, recoveryKeyShown } from './auth';

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

// Kept for redraws (a language switch): the address bar no longer has it.
let token: string | null = null;

function takeToken(): string | null {
  if (location.hash.length > 1) {
    token = location.hash.slice(1);
    history.replaceState(null, '', location.pathname);
  }
  return token;
}

function invalidInvite(): void {
  show(el('h1', {}, t('member.enroll.invalid_heading')), el('p', {}, t('member.enroll.invalid_text')));
}

export async function enrollPage(): Promise<void> {
  document.title = t('member.enroll.title');
  const invite = takeToken();
  if (invite === null || !TOKEN.test(invite)) return invalidInvite();
  const status = statusLine();
  show(el('h1', {}, t('member.enroll.form')), status);
  status.textContent = t('member.enroll.checking');
  let who: Enrollment;
  try {
    who = await api.post<Enrollment, EnrollPeek>('/enroll/peek', { invite });
  } catch (e) {
    if (e instanceof ApiError && e.code === 'invalid_invite') return invalidInvite();
    show(el('h1', {}, t('member.enroll.form')), retryBlock(e, () => void enrollPage()));
    return;
  }
  enrollForm(invite, who);
}

function enrollForm(invite: string, who: Enrollment): void {
  const name = el('input', { type: 'text', name: 'display_name', required: true, autocomplete: 'name', maxlength: '80' });
  name.value = who.display_name;
  const email = el('input', { type: 'email', name: 'email', required: true, autocomplete: 'email' });
  email.value = who.email ?? '';
  const password = el('input', { type: 'password', name: 'password', required: true, autocomplete: 'new-password', minlength: String(MIN_PASSWORD) });
  const repeat = el('input', { type: 'password', name: 'repeat', required: true, autocomplete: 'new-password', minlength: String(MIN_PASSWORD) });
  const submit = el('button', { type: 'submit' }, t('member.enroll.submit'));
  const status = statusLine();
  const withPasskey = passkeysSupported();
  const passkey = el('button', { type: 'button', id: 'enroll-passkey' }, t('member.enroll.passkey'));
  const passkeyStatus = statusLine();
  // Name and address are shared by both ways; the passkey comes first
  // where it is offered (nothing to remember, nothing to type).
  const form = el(
    'form',
    { novalidate: true, 'aria-label': t('member.enroll.form') },
    field(t('member.field.display_name'), name),
    field(t('member.field.email'), email, t('member.signup.email_hint')),
    ...(withPasskey
      ? [el('p', {}, t('member.enroll.passkey_intro')), passkey, passkeyStatus, el('h2', { id: 'h-enroll-password' }, t('member.enroll.password_heading'))]
      : []),
    field(t('member.field.password'), password, t('member.signup.password_hint', { min: MIN_PASSWORD })),
    field(t('member.field.repeat_password'), repeat),
    submit,
    status,
  );
  show(
    el('h1', {}, t('member.enroll.heading', { member: who.display_name })),
    el('p', {}, withPasskey ? t('member.enroll.intro_passkey', { handle: who.handle }) : t('member.enroll.intro', { handle: who.handle })),
    form,
  );
  const wrong = (control: HTMLInputElement, line: HTMLElement, text: string): void => {
    control.setAttribute('aria-invalid', 'true');
    line.textContent = text;
    control.focus();
  };
  /** The shared fields, checked; their fault said in `line`. */
  const nameAndEmail = (line: HTMLElement): boolean => {
    for (const c of form.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
    status.textContent = '';
    passkeyStatus.textContent = '';
    if (!name.value.trim()) {
      wrong(name, line, t('member.field.display_name_missing'));
      return false;
    }
    if (!email.validity.valid || !email.value.trim()) {
      wrong(email, line, t('member.signup.email_invalid'));
      return false;
    }
    return true;
  };
  const busy = (on: boolean): void => {
    submit.disabled = on;
    passkey.disabled = on;
  };
  const enrolled = (done: SignUpResult): void => {
    // Used up: a redraw must not offer the form again.
    token = null;
    rememberHandle(done.member.handle);
    password.value = '';
    repeat.value = '';
    recoveryKeyShown(done.recoveryKey);
  };
  /** A refusal, said in `line`; a dead invitation replaces the page. */
  const refused = (e: unknown, line: HTMLElement): void => {
    busy(false);
    const code = (e as { code?: string }).code;
    if (code === 'invalid_invite') return invalidInvite();
    if (code === 'invalid_display_name') return wrong(name, line, describe(e));
    if (code === 'invalid_email') return wrong(email, line, describe(e));
    // Without PRF nothing was sent: the password is the way left.
    line.textContent = code === 'passkey_no_prf' ? `${describe(e)} ${t('member.enroll.no_prf_password')}` : describe(e);
  };
  passkey.addEventListener('click', () => {
    if (!nameAndEmail(passkeyStatus)) return;
    busy(true);
    passkeyStatus.textContent = t('member.enroll.passkey_working');
    enrollWithPasskey({ invite, handle: who.handle, displayName: name.value, email: email.value, label: t('member.enroll.passkey_label') })
      .then(enrolled)
      .catch((e: unknown) => refused(e, passkeyStatus));
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!nameAndEmail(status)) return;
    const problem = passwordProblem(password.value, repeat.value);
    if (problem) return wrong([...password.value].length < MIN_PASSWORD ? password : repeat, status, problem);
    busy(true);
    status.textContent = t('member.enroll.working');
    rpc('signUp', { handle: who.handle, displayName: name.value, email: email.value, password: password.value, code: '', invite })
      .then(enrolled)
      .catch((e: unknown) => refused(e, status));
  });
}
