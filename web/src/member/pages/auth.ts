// Sign-up, sign-in and unlock. The password goes to the worker, which runs
// OPAQUE (the server never sees the password) and keeps the unsealed key.
import { el, field, show, statusLine } from '../../common/dom';
import { rpc } from '../client';
import { afterSignIn, leftRoute, navigate } from '../router';
import { hideNav, rememberedHandle, rememberHandle, signOut } from '../session';
import { describe, recoveryBox } from '../ui';

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
  if ([...password].length < MIN_PASSWORD) return `The password needs at least ${MIN_PASSWORD} characters.`;
  if (password !== repeat) return 'The two passwords differ. Type the same password twice.';
  return null;
}

export function signUpPage(): void {
  document.title = 'Sign up — latchkey';
  const handle = el('input', { type: 'text', name: 'handle', required: true, autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', maxlength: '32' });
  const name = el('input', { type: 'text', name: 'display_name', required: true, autocomplete: 'name', maxlength: '80' });
  const email = el('input', { type: 'email', name: 'email', required: true, autocomplete: 'email' });
  const password = passwordInput('new-password', 'password');
  const repeat = passwordInput('new-password', 'repeat');
  const code = el('input', { type: 'text', name: 'registration_code', autocomplete: 'off', spellcheck: 'false' });
  const submit = el('button', { type: 'submit' }, 'Create my account');
  const status = statusLine();
  const form = el(
    'form',
    { novalidate: true, 'aria-label': 'Sign up' },
    field('Handle', handle, '3 to 32 characters: a–z, 0–9 and “-”. Your contact page will be /m/HANDLE. It cannot change later.'),
    field('Display name', name, 'What guests see, e.g. your name.'),
    field('E-mail address', email, 'For notices about new messages. The server keeps it sealed.'),
    field('Password', password, `At least ${MIN_PASSWORD} characters. It never leaves this browser; if you lose it, only your recovery key gets your messages back.`),
    field('Repeat the password', repeat),
    field('Registration code (only if this site gave you one)', code),
    submit,
    status,
  );
  show(
    el('h1', {}, 'Create your account'),
    el('p', {}, 'Your browser makes your key pair and seals it with your password. The server stores only sealed keys and ciphertext.'),
    form,
    el('p', {}, 'Already have an account? ', el('a', { href: '/signin' }, 'Sign in')),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearInvalid(form);
    const h = handle.value.trim().toLowerCase();
    if (!HANDLE_RULE.test(h)) {
      return invalid(handle, status, 'The handle needs 3 to 32 characters: a–z, 0–9 and “-”, not “-” at either end.');
    }
    if (!name.value.trim()) return invalid(name, status, 'Enter a display name.');
    if (!email.validity.valid || !email.value.trim()) return invalid(email, status, 'Enter a valid e-mail address.');
    const problem = passwordProblem(password.value, repeat.value);
    if (problem) return invalid([...password.value].length < MIN_PASSWORD ? password : repeat, status, problem);
    submit.disabled = true;
    status.textContent = 'Creating your keys… This takes a few seconds.';
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
        if (err.code === 'handle_taken') return invalid(handle, status, 'This handle is taken. Choose another one.');
        if (err.code === 'invalid_email') return invalid(email, status, describe(e));
        if (err.code === 'invalid_display_name') return invalid(name, status, describe(e));
        if (err.code === 'invalid_handle') return invalid(handle, status, describe(e));
        status.textContent = describe(e);
      });
  });
}

/** After sign-up: the recovery key, once, with a box to tick before going on. */
function recoveryKeyShown(key: string): void {
  const saved = el('input', { type: 'checkbox', id: 'saved', name: 'saved', required: true });
  const status = statusLine();
  const form = el(
    'form',
    { novalidate: true, 'aria-label': 'Recovery key saved' },
    el('div', { class: 'check' }, saved, el('label', { for: 'saved' }, 'I have saved my recovery key somewhere safe')),
    el('button', { type: 'submit' }, 'Continue to my inbox'),
    status,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!saved.checked) {
      saved.setAttribute('aria-invalid', 'true');
      status.textContent = 'Save the recovery key first, then tick the box.';
      saved.focus();
      return;
    }
    navigate('/inbox');
  });
  // Shown at /signup, but not the sign-up page.
  leftRoute();
  hideNav();
  show(
    el('h1', {}, 'Save your recovery key'),
    el('p', {}, 'If you forget your password, this key is the only way back to your messages. It is shown once, now. Print it or store it in a password manager — not in an e-mail to yourself.'),
    recoveryBox(key),
    form,
  );
}

export function signInPage(): void {
  document.title = 'Sign in — latchkey';
  const handle = el('input', { type: 'text', name: 'handle', required: true, autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', maxlength: '32' });
  handle.value = rememberedHandle() ?? '';
  const password = passwordInput('current-password', 'password');
  const submit = el('button', { type: 'submit' }, 'Sign in');
  const status = statusLine();
  const form = el('form', { novalidate: true, 'aria-label': 'Sign in' }, field('Handle', handle), field('Password', password), submit, status);
  show(
    el('h1', {}, 'Sign in'),
    form,
    el('p', {}, 'No account yet? ', el('a', { href: '/signup' }, 'Sign up')),
    el('p', {}, 'Forgot your password? ', el('a', { href: '/recover' }, 'Use your recovery key')),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearInvalid(form);
    if (!handle.value.trim()) return invalid(handle, status, 'Enter your handle.');
    if (!password.value) return invalid(password, status, 'Enter your password.');
    submit.disabled = true;
    status.textContent = 'Signing in… This takes a few seconds.';
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

/** After a reload: the server session is alive, the key is not. */
export function unlockPage(handle: string, then: () => void): void {
  // Shown at the address of the page that needs the key, not that page.
  leftRoute();
  document.title = 'Unlock — latchkey';
  const shownHandle = el('input', { type: 'text', name: 'handle', readonly: true, autocomplete: 'username' });
  shownHandle.value = handle;
  const password = passwordInput('current-password', 'password');
  const submit = el('button', { type: 'submit' }, 'Unlock');
  const status = statusLine();
  const form = el('form', { novalidate: true, 'aria-label': 'Unlock' }, field('Handle', shownHandle), field('Password', password), submit, status);
  const other = el('button', { type: 'button', class: 'secondary' }, 'Not you? Sign out');
  other.addEventListener('click', () => {
    void signOut().then(() => navigate('/signin'));
  });
  show(
    el('h1', {}, 'Unlock your messages'),
    el('p', {}, 'You are still signed in, but your key is kept only while this tab is open. Enter your password to unlock it.'),
    form,
    other,
  );
  password.focus();
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!password.value) return invalid(password, status, 'Enter your password.');
    submit.disabled = true;
    status.textContent = 'Unlocking… This takes a few seconds.';
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
  document.title = 'Recover your account — latchkey';
  const handle = el('input', { type: 'text', name: 'handle', required: true, autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', maxlength: '32' });
  handle.value = rememberedHandle() ?? '';
  const key = el('input', { type: 'text', name: 'recovery-key', required: true, autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false' });
  const next = passwordInput('new-password', 'new-password');
  const repeat = passwordInput('new-password', 'repeat-password');
  const submit = el('button', { type: 'submit' }, 'Set the new password');
  const status = statusLine();
  const form = el(
    'form',
    { novalidate: true, 'aria-label': 'Recover your account' },
    field('Handle', handle),
    field('Recovery key', key, 'The LKR1-… key you saved when you signed up.'),
    field('New password', next, `At least ${MIN_PASSWORD} characters.`),
    field('Repeat the new password', repeat),
    submit,
    status,
  );
  show(
    el('h1', {}, 'Recover your account'),
    el('p', {}, 'Your recovery key replaces a lost password. Your private key stays the same, so every conversation stays readable. You are signed out everywhere else.'),
    form,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearInvalid(form);
    if (!handle.value.trim()) return invalid(handle, status, 'Enter your handle.');
    if (!key.value.trim()) return invalid(key, status, 'Enter your recovery key.');
    const problem = passwordProblem(next.value, repeat.value);
    if (problem) return invalid([...next.value].length < MIN_PASSWORD ? next : repeat, status, problem);
    submit.disabled = true;
    status.textContent = 'Setting the new password… This takes a few seconds.';
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
