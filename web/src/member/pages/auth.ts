// Sign-up, sign-in and unlock. The password goes to the worker, which runs
// OPAQUE (the server never sees the password) and keeps the unsealed key;
// a passkey's PRF output goes there too (passkey.ts), for a member who
// signs in or unlocks with one.
import { el, field, show, statusLine } from '../../common/dom';
import { rpc } from '../client';
import { afterSignIn, leftRoute, navigate } from '../router';
import { hideNav, rememberedHandle, rememberHandle, signOut } from '../session';
import { has, t, tNodes } from '../../common/i18n';
import { api, type AuthMethods } from '../../common/api';
import { describe, recoveryBox } from '../ui';
import { passkeysSupported, signInWithPasskey, unlockWithPasskey } from '../passkey';

const HANDLE_RULE = /^[a-z0-9](?:[a-z0-9-]{1,30})[a-z0-9]$/;
export const MIN_PASSWORD = 10;

function passwordInput(autocomplete: 'current-password' | 'new-password', name: string): HTMLInputElement {
  return el('input', { type: 'password', name, required: true, autocomplete, minlength: autocomplete === 'new-password' ? String(MIN_PASSWORD) : undefined });
}

/** Marks a field wrong, in words, and puts the focus on it. */
function invalid(control: HTMLInputElement, status: HTMLElement, message: string): void {
  control.setAttribute('aria-invalid', 'true');
  status.textContent = message;
  control.focus();
}

function clearInvalid(form: HTMLFormElement): void {
  for (const c of form.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
}

/** Checks a new password and its repetition; returns an error in words or null. */
export function passwordProblem(password: string, repeat: string): string | null {
  if ([...password].length < MIN_PASSWORD) return t('member.auth.password_short', { min: MIN_PASSWORD });
  if (password !== repeat) return t('member.auth.passwords_differ');
  return null;
}

// The server's sign-in methods, asked once per page load.
let methods: Promise<AuthMethods> | undefined;
function authMethods(): Promise<AuthMethods> {
  methods ??= api.get<AuthMethods>('/auth/methods').catch(() => ({ local_passwords: true }));
  return methods;
}

/** "Sign in with <site>": a link, since the browser goes to the site's provider and back. */
function siteButton(site: string): HTMLElement {
  return el('p', {}, el('a', { href: '/api/v1/oidc/start', class: 'button', id: 'oidc-sign-in' }, t('member.signin.oidc_button', { site })));
}

export function signUpPage(): void {
  document.title = t('member.signup.title');
  void authMethods().then((m) => {
    // Accounts come from the site only: no form to fill in here.
    if (!m.local_passwords && m.oidc !== undefined) {
      show(el('h1', {}, t('member.signup.heading')), el('p', {}, t('member.signup.passwords_off', { site: m.oidc })), siteButton(m.oidc));
    } else {
      localSignUp();
    }
  });
}

function localSignUp(): void {
  const handle = el('input', { type: 'text', name: 'handle', required: true, autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', maxlength: '32' });
  const name = el('input', { type: 'text', name: 'display_name', required: true, autocomplete: 'name', maxlength: '80' });
  const email = el('input', { type: 'email', name: 'email', required: true, autocomplete: 'email' });
  const password = passwordInput('new-password', 'password');
  const repeat = passwordInput('new-password', 'repeat');
  const code = el('input', { type: 'text', name: 'registration_code', autocomplete: 'off', spellcheck: 'false' });
  const submit = el('button', { type: 'submit' }, t('member.signup.submit'));
  const status = statusLine();
  const form = el(
    'form',
    { novalidate: true, 'aria-label': t('member.signup.form') },
    field(t('member.field.handle'), handle, t('member.signup.handle_hint')),
    field(t('member.field.display_name'), name, t('member.signup.display_name_hint')),
    field(t('member.field.email'), email, t('member.signup.email_hint')),
    field(t('member.field.password'), password, t('member.signup.password_hint', { min: MIN_PASSWORD })),
    field(t('member.field.repeat_password'), repeat),
    field(t('member.signup.code'), code),
    submit,
    status,
  );
  show(
    el('h1', {}, t('member.signup.heading')),
    el('p', {}, t('member.signup.intro')),
    form,
    el('p', {}, ...tNodes('member.signup.have_account', { link: el('a', { href: '/signin' }, t('member.signin.link')) })),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearInvalid(form);
    const h = handle.value.trim().toLowerCase();
    if (!HANDLE_RULE.test(h)) {
      return invalid(handle, status, t('member.signup.handle_rule'));
    }
    if (!name.value.trim()) return invalid(name, status, t('member.field.display_name_missing'));
    if (!email.validity.valid || !email.value.trim()) return invalid(email, status, t('member.signup.email_invalid'));
    const problem = passwordProblem(password.value, repeat.value);
    if (problem) return invalid([...password.value].length < MIN_PASSWORD ? password : repeat, status, problem);
    submit.disabled = true;
    status.textContent = t('member.signup.working');
    rpc('signUp', { handle: h, displayName: name.value, email: email.value, password: password.value, code: code.value })
      .then((done) => {
        rememberHandle(done.member.handle);
        password.value = '';
        repeat.value = '';
        recoveryKeyShown(done.recoveryKey);
      })
      .catch((e: unknown) => {
        submit.disabled = false;
        const err = e as { code?: string };
        if (err.code === 'handle_taken') return invalid(handle, status, t('member.signup.handle_taken'));
        if (err.code === 'invalid_email') return invalid(email, status, describe(e));
        if (err.code === 'invalid_display_name') return invalid(name, status, describe(e));
        if (err.code === 'invalid_handle') return invalid(handle, status, describe(e));
        status.textContent = describe(e);
      });
  });
}

/** After sign-up: the recovery key, once, with a box to tick before going on. */
export function recoveryKeyShown(key: string): void {
  const saved = el('input', { type: 'checkbox', id: 'saved', name: 'saved', required: true });
  const status = statusLine();
  const form = el(
    'form',
    { novalidate: true, 'aria-label': t('member.saved.form') },
    el('div', { class: 'check' }, saved, el('label', { for: 'saved' }, t('member.saved.check'))),
    el('button', { type: 'submit' }, t('member.saved.submit')),
    status,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!saved.checked) {
      saved.setAttribute('aria-invalid', 'true');
      status.textContent = t('member.saved.not_ticked');
      saved.focus();
      return;
    }
    navigate('/inbox');
  });
  // Shown at /signup, but not the sign-up page.
  leftRoute(() => recoveryKeyShown(key));
  hideNav();
  show(
    el('h1', {}, t('member.saved.heading')),
    el('p', {}, t('member.saved.intro')),
    recoveryBox(key),
    form,
  );
}

/** Why the sign-in through the site's provider failed (its redirect's `oidc_error`), in words. */
function oidcProblem(site: string): HTMLElement | null {
  const word = new URLSearchParams(location.search).get('oidc_error');
  if (word === null) return null;
  const text = /^[a-z_]+$/.test(word) && has(`member.oidc_error.${word}`) ? t(`member.oidc_error.${word}`, { site }) : t('member.oidc_error.internal', { site });
  return el('p', { role: 'alert', id: 'oidc-error' }, text);
}

export function signInPage(): void {
  document.title = t('member.signin.title');
  void authMethods().then((m) => {
    const site = m.oidc ?? '';
    const problem = oidcProblem(site);
    const viaSite = m.oidc === undefined ? [] : [siteButton(m.oidc)];
    if (!m.local_passwords) {
      show(el('h1', {}, t('member.signin.heading')), ...(problem ? [problem] : []), el('p', {}, t('member.signin.passwords_off', { site })), ...viaSite);
      return;
    }
    localSignIn([...(problem ? [problem] : []), ...viaSite]);
  });
}

function localSignIn(before: HTMLElement[]): void {
  const handle = el('input', { type: 'text', name: 'handle', required: true, autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', maxlength: '32' });
  handle.value = rememberedHandle() ?? '';
  const password = passwordInput('current-password', 'password');
  const submit = el('button', { type: 'submit' }, t('member.signin.submit'));
  const status = statusLine();
  const form = el('form', { novalidate: true, 'aria-label': t('member.signin.form') }, field(t('member.field.handle'), handle), field(t('member.field.password'), password), submit, status);
  const passkey = el('button', { type: 'button', id: 'signin-passkey', class: 'secondary' }, t('member.signin.passkey'));
  const passkeyStatus = statusLine();
  show(
    el('h1', {}, t('member.signin.heading')),
    ...before,
    form,
    ...(passkeysSupported() ? [el('p', {}, t('member.signin.passkey_intro')), passkey, passkeyStatus] : []),
    el('p', {}, ...tNodes('member.signin.no_account', { link: el('a', { href: '/signup' }, t('member.signup.link')) })),
    el('p', {}, ...tNodes('member.signin.forgot', { link: el('a', { href: '/recover' }, t('member.signin.recover_link')) })),
  );
  // The handle tells the server whose passkeys to offer; no password.
  passkey.addEventListener('click', () => {
    clearInvalid(form);
    status.textContent = '';
    if (!handle.value.trim()) return invalid(handle, passkeyStatus, t('member.signin.passkey_handle_missing'));
    passkey.disabled = true;
    submit.disabled = true;
    passkeyStatus.textContent = t('member.signin.passkey_working');
    signInWithPasskey(handle.value)
      .then((member) => {
        rememberHandle(member.handle);
        navigate(afterSignIn());
      })
      .catch((e: unknown) => {
        passkey.disabled = false;
        submit.disabled = false;
        passkeyStatus.textContent = passkeyProblem(e);
      });
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearInvalid(form);
    passkeyStatus.textContent = '';
    if (!handle.value.trim()) return invalid(handle, status, t('member.field.handle_missing'));
    if (!password.value) return invalid(password, status, t('member.field.password_missing'));
    submit.disabled = true;
    status.textContent = t('member.signin.working');
    rpc('signIn', { handle: handle.value, password: password.value })
      .then((member) => {
        rememberHandle(member.handle);
        navigate(afterSignIn());
      })
      .catch((e: unknown) => {
        submit.disabled = false;
        password.value = '';
        status.textContent = describe(e);
        password.focus();
      });
  });
}

/** Why a passkey sign-in failed, in words: `login_failed` here is no
 * wrong password (there was none) but a refused or late attempt. */
export function passkeyProblem(e: unknown): string {
  return (e as { code?: string }).code === 'login_failed' ? t('member.signin.passkey_failed') : describe(e);
}

/** After a reload: the server session is alive, the key is not.
 * `hasPassword`: false for a member who set up his key with a passkey,
 * who is offered no password field. */
export function unlockPage(handle: string, hasPassword: boolean, then: () => void): void {
  // Shown at the address of the page that needs the key, not that page.
  leftRoute(() => unlockPage(handle, hasPassword, then));
  document.title = t('member.unlock.title');
  const shownHandle = el('input', { type: 'text', name: 'handle', readonly: true, autocomplete: 'username' });
  shownHandle.value = handle;
  const password = passwordInput('current-password', 'password');
  const submit = el('button', { type: 'submit' }, t('member.unlock.submit'));
  const status = statusLine();
  const form = el('form', { novalidate: true, 'aria-label': t('member.unlock.form') }, field(t('member.field.handle'), shownHandle), field(t('member.field.password'), password), submit, status);
  const other = el('button', { type: 'button', class: 'secondary' }, t('member.unlock.not_you'));
  other.addEventListener('click', () => {
    void signOut().then(() => navigate('/signin'));
  });
  // A passkey unlocks without the password (docs/protocol.md §4.9.1); the
  // server says whether this member has one only after the click, so the
  // button is there whenever the browser can do passkeys.
  const withPasskey = el('button', { type: 'button', id: 'unlock-passkey' }, hasPassword ? t('member.unlock.passkey') : t('member.unlock.passkey_only'));
  const passkeyStatus = statusLine();
  withPasskey.addEventListener('click', () => {
    withPasskey.disabled = true;
    passkeyStatus.textContent = t('member.unlock.passkey_working');
    unlockWithPasskey()
      .then((member) => {
        rememberHandle(member.handle);
        then();
      })
      .catch((e: unknown) => {
        withPasskey.disabled = false;
        passkeyStatus.textContent = describe(e);
      });
  });
  if (!hasPassword) {
    // No password to type: his passkey, or his recovery key (which sets one).
    const recover = el('p', {}, ...tNodes('member.unlock.lost_passkey', { link: el('a', { href: '/recover' }, t('member.signin.recover_link')) }));
    show(
      el('h1', {}, t('member.unlock.heading')),
      ...(passkeysSupported()
        ? [el('p', {}, t('member.unlock.intro_passkey')), withPasskey, passkeyStatus]
        : [el('p', { role: 'alert' }, t('member.unlock.passkey_unsupported'))]),
      recover,
      other,
    );
    return;
  }
  show(
    el('h1', {}, t('member.unlock.heading')),
    el('p', {}, t('member.unlock.intro')),
    form,
    ...(passkeysSupported() ? [el('p', {}, t('member.unlock.passkey_intro')), withPasskey, passkeyStatus] : []),
    other,
  );
  password.focus();
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!password.value) return invalid(password, status, t('member.field.password_missing'));
    submit.disabled = true;
    status.textContent = t('member.unlock.working');
    rpc('signIn', { handle, password: password.value })
      .then((member) => {
        rememberHandle(member.handle);
        then();
      })
      .catch((e: unknown) => {
        submit.disabled = false;
        password.value = '';
        status.textContent = describe(e);
        password.focus();
      });
  });
}

/** A lost password: the recovery key from sign-up sets a new one. */
export function recoverPage(): void {
  document.title = t('member.recover.title');
  const handle = el('input', { type: 'text', name: 'handle', required: true, autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', maxlength: '32' });
  handle.value = rememberedHandle() ?? '';
  const key = el('input', { type: 'text', name: 'recovery-key', required: true, autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false' });
  const next = passwordInput('new-password', 'new-password');
  const repeat = passwordInput('new-password', 'repeat-password');
  const submit = el('button', { type: 'submit' }, t('member.recover.submit'));
  const status = statusLine();
  const form = el(
    'form',
    { novalidate: true, 'aria-label': t('member.recover.heading') },
    field(t('member.field.handle'), handle),
    field(t('member.recover.key'), key, t('member.recover.key_hint')),
    field(t('member.field.new_password'), next, t('member.field.new_password_hint', { min: MIN_PASSWORD })),
    field(t('member.field.repeat_new_password'), repeat),
    submit,
    status,
  );
  show(
    el('h1', {}, t('member.recover.heading')),
    el('p', {}, t('member.recover.intro')),
    form,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearInvalid(form);
    if (!handle.value.trim()) return invalid(handle, status, t('member.field.handle_missing'));
    if (!key.value.trim()) return invalid(key, status, t('member.recover.key_missing'));
    const problem = passwordProblem(next.value, repeat.value);
    if (problem) return invalid([...next.value].length < MIN_PASSWORD ? next : repeat, status, problem);
    submit.disabled = true;
    status.textContent = t('member.recover.working');
    rpc('recover', { handle: handle.value, recoveryKey: key.value, next: next.value })
      .then((member) => {
        rememberHandle(member.handle);
        navigate('/inbox');
      })
      .catch((e: unknown) => {
        submit.disabled = false;
        status.textContent = describe(e);
        key.focus();
      });
  });
}
