// Small pieces the member's pages share.
import { el } from '../common/dom';
import { ApiError } from '../common/api';
import { has, t } from '../common/i18n';
import { describe } from '../common/ui';

export { describe, retryBlock } from '../common/ui';

/** Why the worker could not show a conversation or a message (a code, see rpc.ts), in words. */
export function problemText(code: string): string {
  return has(`member.problem.${code}`) ? t(`member.problem.${code}`) : describe(new ApiError(0, code, ''));
}

/** A button that copies `text()` and says so in `status`. */
export function copyButton(label: string, text: () => string, status: HTMLElement, source?: HTMLInputElement | HTMLTextAreaElement): HTMLButtonElement {
  const button = el('button', { type: 'button', class: 'secondary' }, label);
  button.addEventListener('click', () => {
    const value = text();
    const selectIt = (): void => {
      if (source) {
        source.focus();
        source.select();
      }
      status.textContent = t('member.copy.refused');
    };
    if (!navigator.clipboard) return selectIt();
    navigator.clipboard.writeText(value).then(() => {
      status.textContent = t('member.copy.done');
    }, selectIt);
  });
  return button;
}

/** A read-only text field that shows a value to copy, with its copy button. */
export function copyField(label: string, value: string, opts: { multiline?: boolean; id?: string; copyLabel: string }): HTMLDivElement {
  const control = opts.multiline
    ? el('textarea', { readonly: true, rows: '3', class: 'mono', spellcheck: 'false' })
    : el('input', { type: 'text', readonly: true, class: 'mono', spellcheck: 'false' });
  control.value = value;
  if (opts.id) control.id = opts.id;
  const id = control.id || `c-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  const status = el('span', { class: 'copied', role: 'status', 'aria-live': 'polite' });
  return el(
    'div',
    { class: 'field' },
    el('label', { for: id }, label),
    control,
    copyButton(opts.copyLabel, () => control.value, status, control),
    status,
  );
}

/** The recovery key, shown once, with its copy button. */
export function recoveryBox(key: string): HTMLDivElement {
  const status = el('span', { class: 'copied', role: 'status', 'aria-live': 'polite' });
  const shown = el('p', { class: 'secret mono', id: 'recovery-key' }, key);
  return el(
    'div',
    { class: 'secret-box' },
    el('p', { class: 'label', id: 'recovery-label' }, t('member.recovery_box.label')),
    shown,
    copyButton(t('member.recovery_box.copy'), () => key, status),
    status,
  );
}
