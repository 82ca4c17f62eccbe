// /enroll#TOKEN: a member the site invited sets up his account. The token
// is in the fragment, so it never travels in a URL; the page takes it out
// of the address bar at once and sends it only in request bodies. He then
// registers as sign-up does (OPAQUE in the worker, a new key, a recovery
// key shown once), with the token in place of a registration code, for the
// handle the site chose.
// Passkey enrollment (POST /me/identity) is not offered here yet: an
// invited member has no member row before he enrolls.
import { api, ApiError, type EnrollPeek, type Enrollment } from '../../common/api';
import { el, field, show, statusLine } from '../../common/dom';
import { t } from '../../common/i18n';
import { rpc } from '../client';
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
  email.value = who.email;
  const password = el('input', { type: 'password', name: 'password', required: true, autocomplete: 'new-password', minlength: String(MIN_PASSWORD) });
  const repeat = el('input', { type: 'password', name: 'repeat', required: true, autocomplete: 'new-password', minlength: String(MIN_PASSWORD) });
  const submit = el('button', { type: 'submit' }, t('member.enroll.submit'));
  const status = statusLine();
  const form = el(
    'form',
    { novalidate: true, 'aria-label': t('member.enroll.form') },
    field(t('member.field.display_name'), name),
    field(t('member.field.email'), email, t('member.signup.email_hint')),
    field(t('member.field.password'), password, t('member.signup.password_hint', { min: MIN_PASSWORD })),
    field(t('member.field.repeat_password'), repeat),
    submit,
    status,
  );
  show(
    el('h1', {}, t('member.enroll.heading', { member: who.display_name })),
    el('p', {}, t('member.enroll.intro', { handle: who.handle })),
    form,
  );
  const wrong = (control: HTMLInputElement, text: string): void => {
    control.setAttribute('aria-invalid', 'true');
    status.textContent = text;
    control.focus();
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    for (const c of form.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
    if (!name.value.trim()) return wrong(name, t('member.field.display_name_missing'));
    if (!email.validity.valid || !email.value.trim()) return wrong(email, t('member.signup.email_invalid'));
    const problem = passwordProblem(password.value, repeat.value);
    if (problem) return wrong([...password.value].length < MIN_PASSWORD ? password : repeat, problem);
    submit.disabled = true;
    status.textContent = t('member.enroll.working');
    rpc('signUp', { handle: who.handle, displayName: name.value, email: email.value, password: password.value, code: '', invite })
      .then((done) => {
        // Used up: a redraw must not offer the form again.
        token = null;
        rememberHandle(done.member.handle);
        password.value = '';
        repeat.value = '';
        recoveryKeyShown(done.recoveryKey);
      })
      .catch((e: unknown) => {
        submit.disabled = false;
        // The worker's errors are plain {status, code, message}.
        if ((e as { code?: string }).code === 'invalid_invite') return invalidInvite();
        status.textContent = describe(e);
      });
  });
}
