// /settings: display name, contact page and button, key fingerprint,
// passkeys, password change and a new recovery key. A member who set up his
// key with a passkey has no password: he adds one here, and confirms with
// his passkey where others type their password.
import { api, ApiError, call, type PasskeyList, type PasskeyView, type ReadReceipts } from '../../common/api';
import { el, field, show, statusLine } from '../../common/dom';
import { t, tNodes, when } from '../../common/i18n';
import { addPasskey, passkeysSupported, signInWithPasskey } from '../passkey';
import { MIN_PASSWORD, passkeyProblem, passwordProblem } from './auth';
import { embedSection, embedSnippet } from './embed-snippet';
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

/** Read receipts: one switch for all his conversations, saved when flipped.
 * Reciprocal (off: the guest's reading is not shown to him either). */
function receiptsSection(): HTMLElement {
  const box = el('input', { type: 'checkbox', id: 'read-receipts', disabled: true });
  const status = statusLine();
  call<ReadReceipts>('GET', '/me/read-receipts')
    .then((r) => {
      box.checked = r.read_receipts;
      box.disabled = false;
    })
    .catch((e: unknown) => {
      status.textContent = describe(e);
    });
  box.addEventListener('change', () => {
    box.disabled = true;
    status.textContent = t('member.settings.saving');
    const body: ReadReceipts = { read_receipts: box.checked };
    call<null>('PUT', '/me/read-receipts', body)
      .then(() => {
        status.textContent = t('member.settings.saved');
      })
      .catch((e: unknown) => {
        box.checked = !box.checked;
        status.textContent = describe(e);
      })
      .finally(() => {
        box.disabled = false;
      });
  });
  return el(
    'section',
    { 'aria-labelledby': 'h-receipts' },
    el('h2', { id: 'h-receipts' }, t('member.receipts.heading')),
    el('div', { class: 'check' }, box, el('label', { for: box.id }, t('member.receipts.switch'))),
    el('p', { class: 'hint' }, t('member.receipts.hint')),
    status,
  );
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

/** The fresh sign-in a step wants, with the passkey of a member who has
 * no password to type; says what happens in `status`. */
async function confirmWithPasskey(member: MemberView, status: HTMLElement): Promise<void> {
  if (!passkeysSupported()) throw new ApiError(0, 'passkey_unsupported', '');
  status.textContent = t('member.settings.confirm_passkey');
  await signInWithPasskey(member.handle, true);
}

/** "Add a password", for a member who has only passkeys: the same
 * endpoints as a change, after a confirmation with his passkey. */
function addPasswordForm(member: MemberView): HTMLFormElement {
  const next = password('new', 'new-password');
  const repeat = password('repeat', 'new-password');
  const save = el('button', { type: 'submit' }, t('member.settings.add_password'));
  const status = statusLine();
  const form = el(
    'form',
    { 'aria-labelledby': 'h-password', novalidate: true },
    el('p', {}, t('member.settings.add_password_intro')),
    field(t('member.field.new_password'), next, t('member.field.new_password_hint', { min: MIN_PASSWORD })),
    field(t('member.field.repeat_new_password'), repeat),
    save,
    status,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const problem = passwordProblem(next.value, repeat.value);
    if (problem) {
      status.textContent = problem;
      next.focus();
      return;
    }
    save.disabled = true;
    confirmWithPasskey(member, status)
      .then(() => {
        status.textContent = t('member.settings.adding_password');
        return rpc('changePassword', { current: null, next: next.value });
      })
      .then(() => {
        for (const f of [next, repeat]) f.value = '';
        status.textContent = t('member.settings.password_added');
      })
      .catch((e: unknown) => {
        status.textContent = passkeyProblem(e);
      })
      .finally(() => {
        save.disabled = false;
      });
  });
  return form;
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
        const embedBox = document.getElementById('embed-snippet');
        if (embedBox instanceof HTMLTextAreaElement) embedBox.value = embedSnippet(updated.handle, updated.display_name);
      })
      .catch((e: unknown) => {
        nameStatus.textContent = describe(e);
      })
      .finally(() => {
        nameSave.disabled = false;
      });
  });

  const hasPassword = member.sealed_identity !== undefined;

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

  // A new recovery key (confirmed with the password, or the passkey of a
  // member who has none).
  const recoveryPassword = password('recovery-current', 'current-password');
  const recoverySave = el('button', { type: 'submit' }, t('member.settings.new_recovery'));
  const recoveryStatus = statusLine();
  const recoveryShown = el('div', {});
  const recoveryForm = el(
    'form',
    { 'aria-labelledby': 'h-recovery', novalidate: true },
    el('p', {}, hasPassword ? t('member.settings.new_recovery_intro') : t('member.settings.new_recovery_intro_passkey')),
    hasPassword && field(t('member.field.current_password'), recoveryPassword),
    recoverySave,
    recoveryStatus,
    recoveryShown,
  );
  recoveryForm.addEventListener('submit', (event) => {
    event.preventDefault();
    if (hasPassword && !recoveryPassword.value) {
      recoveryStatus.textContent = t('member.field.current_password_missing');
      recoveryPassword.focus();
      return;
    }
    recoverySave.disabled = true;
    recoveryShown.replaceChildren();
    const confirmed = hasPassword ? Promise.resolve() : confirmWithPasskey(member, recoveryStatus);
    confirmed
      .then(() => {
        recoveryStatus.textContent = t('member.settings.making_recovery');
        return rpc('newRecovery', { password: hasPassword ? recoveryPassword.value : null });
      })
      .then((key) => {
        recoveryPassword.value = '';
        recoveryStatus.textContent = t('member.settings.recovery_made');
        recoveryShown.append(recoveryBox(key));
      })
      .catch((e: unknown) => {
        recoveryPassword.value = '';
        const code = (e as { code?: string }).code;
        recoveryStatus.textContent = hasPassword && code === 'login_failed' ? t('member.settings.wrong_password') : passkeyProblem(e);
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
    embedSection(member),
    receiptsSection(),
    el('h2', { id: 'h-key' }, t('member.settings.key_heading')),
    el('p', {}, t('member.settings.key_text')),
    el('p', { class: 'fingerprint mono', id: 'fingerprint' }, print ?? member.fingerprint),
    passkeysSection(member),
    el('h2', { id: 'h-password' }, hasPassword ? t('member.settings.password_heading') : t('member.settings.add_password_heading')),
    hasPassword ? passwordForm : addPasswordForm(member),
    el('h2', { id: 'h-recovery' }, t('member.settings.recovery_heading')),
    recoveryForm,
  );
}
