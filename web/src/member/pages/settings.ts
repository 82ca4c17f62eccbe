// /settings: display name, contact page and button, key fingerprint,
// passkeys, password change and a new recovery key.
import { api, call, type PasskeyList, type PasskeyView } from '../../common/api';
import { el, field, show, statusLine } from '../../common/dom';
import { t, tNodes, when } from '../../common/i18n';
import { addPasskey, passkeysSupported } from '../passkey';
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
  return `<a href="${escapeHtml(contactUrl(handle))}">${escapeHtml(t('member.settings.snippet_text', { name }))}</a>`;
}

function password(name: string, autocomplete: string): HTMLInputElement {
  return el('input', { type: 'password', name, required: true, autocomplete });
}

/** The passkeys section: the list (each with "Remove") and "Add a passkey". */
function passkeysSection(member: MemberView): HTMLElement {
  const list = el('ul', { id: 'passkeys', class: 'passkeys' });
  const status = statusLine();
  const render = (passkeys: PasskeyView[]): void => {
    list.replaceChildren(
      ...passkeys.map((p) => {
        const remove = el('button', { type: 'button', class: 'secondary' }, t('member.passkeys.remove'));
        remove.setAttribute('aria-label', t('member.passkeys.remove_named', { label: p.label }));
        remove.addEventListener('click', () => {
          remove.disabled = true;
          status.textContent = t('member.passkeys.removing');
          call<null>('DELETE', `/me/passkeys/${p.credential_id}`)
            .then(() => {
              status.textContent = t('member.passkeys.removed', { label: p.label });
              return refresh();
            })
            .catch((e: unknown) => {
              remove.disabled = false;
              status.textContent = describe(e);
            });
        });
        return el('li', {}, el('span', { class: 'passkey-label' }, p.label), ' ', el('span', { class: 'hint' }, t('member.passkeys.added_at', { when: when(p.created_at) })), ' ', remove);
      }),
    );
    if (passkeys.length === 0) list.append(el('li', {}, t('member.passkeys.none')));
  };
  const refresh = (): Promise<void> =>
    api.get<PasskeyList>('/me/passkeys').then(
      (r) => render(r.passkeys),
      (e: unknown) => {
        status.textContent = describe(e);
      },
    );
  void refresh();

  const label = el('input', { type: 'text', name: 'passkey-label', required: true, maxlength: '64', autocomplete: 'off' });
  const add = el('button', { type: 'submit' }, t('member.passkeys.add'));
  const form = el('form', { 'aria-labelledby': 'h-passkeys', novalidate: true }, field(t('member.passkeys.label'), label, t('member.passkeys.label_hint')), add);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = label.value.trim();
    if (!name) {
      status.textContent = t('member.passkeys.label_missing');
      label.focus();
      return;
    }
    if (!passkeysSupported()) {
      status.textContent = t('member.error.passkey_unsupported');
      return;
    }
    add.disabled = true;
    status.textContent = t('member.passkeys.adding');
    addPasskey(member.handle, member.display_name, name)
      .then(() => {
        label.value = '';
        status.textContent = t('member.passkeys.added', { label: name });
        return refresh();
      })
      .catch((e: unknown) => {
        status.textContent = describe(e);
      })
      .finally(() => {
        add.disabled = false;
      });
  });
  return el('section', { 'aria-labelledby': 'h-passkeys' }, el('h2', { id: 'h-passkeys' }, t('member.passkeys.heading')), el('p', {}, t('member.passkeys.intro')), list, form, status);
}

export async function settingsPage(): Promise<void> {
  document.title = t('member.settings.title');
  const status = statusLine();
  show(el('h1', {}, t('member.settings.heading')), status);
  status.textContent = t('common.loading');
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
    status.textContent = t('member.settings.signed_out');
    return;
  }
  const member = me;

  // Display name.
  const name = el('input', { type: 'text', name: 'display_name', required: true, maxlength: '80', autocomplete: 'name' });
  name.value = member.display_name;
  const nameStatus = statusLine();
  const nameSave = el('button', { type: 'submit' }, t('member.settings.save_name'));
  const snippetBox = copyField(t('member.settings.snippet'), snippet(member.handle, member.display_name), { multiline: true, id: 'snippet', copyLabel: t('member.settings.copy_snippet') });
  const nameForm = el('form', { 'aria-labelledby': 'h-name', novalidate: true }, field(t('member.field.display_name'), name, t('member.settings.display_name_hint')), nameSave, nameStatus);
  nameForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = name.value.trim();
    if (!value) {
      nameStatus.textContent = t('member.field.display_name_missing');
      name.focus();
      return;
    }
    nameSave.disabled = true;
    nameStatus.textContent = t('member.settings.saving');
    call<MemberView>('PATCH', '/me', { display_name: value })
      .then((updated) => {
        nameStatus.textContent = t('member.settings.saved');
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
  const passwordSave = el('button', { type: 'submit' }, t('member.settings.change_password'));
  const passwordStatus = statusLine();
  const passwordForm = el(
    'form',
    { 'aria-labelledby': 'h-password', novalidate: true },
    field(t('member.field.current_password'), current),
    field(t('member.field.new_password'), next, t('member.field.new_password_hint', { min: MIN_PASSWORD })),
    field(t('member.field.repeat_new_password'), repeat),
    passwordSave,
    passwordStatus,
  );
  passwordForm.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!current.value) {
      passwordStatus.textContent = t('member.field.current_password_missing');
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
    passwordStatus.textContent = t('member.settings.changing_password');
    rpc('changePassword', { current: current.value, next: next.value })
      .then(() => {
        for (const f of [current, next, repeat]) f.value = '';
        passwordStatus.textContent = t('member.settings.password_changed');
      })
      .catch((e: unknown) => {
        current.value = '';
        passwordStatus.textContent = (e as { code?: string }).code === 'login_failed' ? t('member.settings.wrong_password') : describe(e);
      })
      .finally(() => {
        passwordSave.disabled = false;
      });
  });

  // A new recovery key.
  const recoveryPassword = password('recovery-current', 'current-password');
  const recoverySave = el('button', { type: 'submit' }, t('member.settings.new_recovery'));
  const recoveryStatus = statusLine();
  const recoveryShown = el('div', {});
  const recoveryForm = el(
    'form',
    { 'aria-labelledby': 'h-recovery', novalidate: true },
    el('p', {}, t('member.settings.new_recovery_intro')),
    field(t('member.field.current_password'), recoveryPassword),
    recoverySave,
    recoveryStatus,
    recoveryShown,
  );
  recoveryForm.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!recoveryPassword.value) {
      recoveryStatus.textContent = t('member.field.current_password_missing');
      recoveryPassword.focus();
      return;
    }
    recoverySave.disabled = true;
    recoveryShown.replaceChildren();
    recoveryStatus.textContent = t('member.settings.making_recovery');
    rpc('newRecovery', { password: recoveryPassword.value })
      .then((key) => {
        recoveryPassword.value = '';
        recoveryStatus.textContent = t('member.settings.recovery_made');
        recoveryShown.append(recoveryBox(key));
      })
      .catch((e: unknown) => {
        recoveryPassword.value = '';
        recoveryStatus.textContent = (e as { code?: string }).code === 'login_failed' ? t('member.settings.wrong_password') : describe(e);
      })
      .finally(() => {
        recoverySave.disabled = false;
      });
  });

  const url = contactUrl(member.handle);
  show(
    el('h1', {}, t('member.settings.heading')),
    el('p', {}, t('member.settings.signed_in_as', { handle: member.handle })),
    el('h2', { id: 'h-name' }, t('member.settings.name_heading')),
    nameForm,
    el('h2', { id: 'h-contact' }, t('member.settings.contact_heading')),
    el('p', {}, ...tNodes('member.settings.contact_text', { link: el('a', { href: url, id: 'contact-url' }, url) })),
    copyField(t('member.settings.contact_address'), url, { copyLabel: t('member.settings.copy_contact_address') }),
    el('p', { class: 'hint' }, t('member.settings.snippet_hint')),
    snippetBox,
    el('h2', { id: 'h-key' }, t('member.settings.key_heading')),
    el('p', {}, t('member.settings.key_text')),
    el('p', { class: 'fingerprint mono', id: 'fingerprint' }, print ?? member.fingerprint),
    passkeysSection(member),
    el('h2', { id: 'h-password' }, t('member.settings.password_heading')),
    passwordForm,
    el('h2', { id: 'h-recovery' }, t('member.settings.recovery_heading')),
    recoveryForm,
  );
}
