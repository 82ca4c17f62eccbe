// /settings: display name, contact page and button, key fingerprint,
// password change and a new recovery key.
import { call } from '../../common/api';
import { el, field, show, statusLine } from '../../common/dom';
import { MIN_PASSWORD, passwordProblem } from './auth';
import { rpc } from '../client';
import type { MemberView } from '../rpc';
import { serverMember } from '../session';
import { copyField, describe, recoveryBox, retryBlock } from '../ui';

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function contactUrl(handle: string): string {
  return `${location.origin}/m/${handle}`;
}

/** A plain link for another website: no script, nothing loaded from here. */
export function snippet(handle: string, name: string): string {
  return `<a href="${escapeHtml(contactUrl(handle))}">Write to ${escapeHtml(name)}</a>`;
}

function password(name: string, autocomplete: string): HTMLInputElement {
  return el('input', { type: 'password', name, required: true, autocomplete });
}

export async function settingsPage(): Promise<void> {
  document.title = 'Settings — latchkey';
  const status = statusLine();
  show(el('h1', {}, 'Settings'), status);
  status.textContent = 'Loading…';
  let me: MemberView | null;
  let print: string | null;
  try {
    me = await serverMember();
    print = (await rpc('status', null)).fingerprint;
  } catch (e) {
    status.textContent = '';
    status.after(retryBlock(e, () => void settingsPage()));
    return;
  }
  if (!me) {
    status.textContent = 'You are signed out. Sign in again.';
    return;
  }
  const member = me;

  // Display name.
  const name = el('input', { type: 'text', name: 'display_name', required: true, maxlength: '80', autocomplete: 'name' });
  name.value = member.display_name;
  const nameStatus = statusLine();
  const nameSave = el('button', { type: 'submit' }, 'Save name');
  const snippetBox = copyField('HTML for a contact button', snippet(member.handle, member.display_name), { multiline: true, id: 'snippet', copyLabel: 'Copy the HTML' });
  const nameForm = el('form', { 'aria-labelledby': 'h-name', novalidate: true }, field('Display name', name, 'What guests see.'), nameSave, nameStatus);
  nameForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = name.value.trim();
    if (!value) {
      nameStatus.textContent = 'Enter a display name.';
      name.focus();
      return;
    }
    nameSave.disabled = true;
    nameStatus.textContent = 'Saving…';
    call<MemberView>('PATCH', '/me', { display_name: value })
      .then((updated) => {
        nameStatus.textContent = 'Saved.';
        const box = snippetBox.querySelector('textarea');
        if (box) box.value = snippet(updated.handle, updated.display_name);
      })
      .catch((e: unknown) => {
        nameStatus.textContent = describe(e);
      })
      .finally(() => {
        nameSave.disabled = false;
      });
  });

  // Password change: a fresh sign-in with the current password, then the
  // same private key sealed under the new one (in the worker).
  const current = password('current', 'current-password');
  const next = password('new', 'new-password');
  const repeat = password('repeat', 'new-password');
  const passwordSave = el('button', { type: 'submit' }, 'Change password');
  const passwordStatus = statusLine();
  const passwordForm = el(
    'form',
    { 'aria-labelledby': 'h-password', novalidate: true },
    field('Current password', current),
    field('New password', next, `At least ${MIN_PASSWORD} characters.`),
    field('Repeat the new password', repeat),
    passwordSave,
    passwordStatus,
  );
  passwordForm.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!current.value) {
      passwordStatus.textContent = 'Enter your current password.';
      current.focus();
      return;
    }
    const problem = passwordProblem(next.value, repeat.value);
    if (problem) {
      passwordStatus.textContent = problem;
      next.focus();
      return;
    }
    passwordSave.disabled = true;
    passwordStatus.textContent = 'Changing your password… This takes a few seconds.';
    rpc('changePassword', { current: current.value, next: next.value })
      .then(() => {
        for (const f of [current, next, repeat]) f.value = '';
        passwordStatus.textContent = 'Your password is changed. Other devices are signed out; your messages are unchanged.';
      })
      .catch((e: unknown) => {
        current.value = '';
        passwordStatus.textContent = (e as { code?: string }).code === 'login_failed' ? 'The current password is wrong.' : describe(e);
      })
      .finally(() => {
        passwordSave.disabled = false;
      });
  });

  // A new recovery key.
  const recoveryPassword = password('recovery-current', 'current-password');
  const recoverySave = el('button', { type: 'submit' }, 'Make a new recovery key');
  const recoveryStatus = statusLine();
  const recoveryShown = el('div', {});
  const recoveryForm = el(
    'form',
    { 'aria-labelledby': 'h-recovery', novalidate: true },
    el('p', {}, 'A new recovery key replaces the old one, which stops working. It is shown once.'),
    field('Current password', recoveryPassword),
    recoverySave,
    recoveryStatus,
    recoveryShown,
  );
  recoveryForm.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!recoveryPassword.value) {
      recoveryStatus.textContent = 'Enter your current password.';
      recoveryPassword.focus();
      return;
    }
    recoverySave.disabled = true;
    recoveryShown.replaceChildren();
    recoveryStatus.textContent = 'Making a new recovery key…';
    rpc('newRecovery', { password: recoveryPassword.value })
      .then((key) => {
        recoveryPassword.value = '';
        recoveryStatus.textContent = 'Your new recovery key is below. Save it now: it is not shown again. The old one no longer works.';
        recoveryShown.append(recoveryBox(key));
      })
      .catch((e: unknown) => {
        recoveryPassword.value = '';
        recoveryStatus.textContent = (e as { code?: string }).code === 'login_failed' ? 'The current password is wrong.' : describe(e);
      })
      .finally(() => {
        recoverySave.disabled = false;
      });
  });

  const url = contactUrl(member.handle);
  show(
    el('h1', {}, 'Settings'),
    el('p', {}, `Signed in as ${member.handle}.`),
    el('h2', { id: 'h-name' }, 'Your name'),
    nameForm,
    el('h2', { id: 'h-contact' }, 'Your contact page'),
    el('p', {}, 'Guests write to you here: ', el('a', { href: url, id: 'contact-url' }, url)),
    copyField('Contact page address', url),
    el('p', { class: 'hint' }, 'To put a contact button on another website, paste this there. It is a plain link: no script, nothing loaded from this server.'),
    snippetBox,
    el('h2', { id: 'h-key' }, 'Your key'),
    el('p', {}, 'Key fingerprint (computed in this browser from your unlocked key). Guests see it on your contact page; read it to them to check they write to you:'),
    el('p', { class: 'fingerprint mono', id: 'fingerprint' }, print ?? member.fingerprint),
    el('h2', { id: 'h-password' }, 'Password'),
    passwordForm,
    el('h2', { id: 'h-recovery' }, 'Recovery key'),
    recoveryForm,
  );
}
