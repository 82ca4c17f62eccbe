// Small pieces the guest's and the member's pages share.
import { ApiError } from './api';
import { el, field } from './dom';
import { has, lang, t } from './i18n';

/** "in 40 seconds", "in 3 minutes": how long a refused person waits, in the page's language. */
export function waitText(secs: number | null): string {
  const relative = new Intl.RelativeTimeFormat(lang());
  if (secs === null) return relative.format(1, 'minute');
  if (secs < 90) return relative.format(Math.max(secs, 1), 'second');
  return relative.format(Math.ceil(secs / 60), 'minute');
}

/**
 * An error in words, in the page's language, from its code: the server's
 * own message is English and for developers. A code a person meets has its
 * words under `common.error.` (both kinds of page) or under the one kind
 * of page that meets it; any other is named in a general sentence.
 */
export function describe(e: unknown): string {
  if (!(e instanceof ApiError)) return t('common.error.page');
  const code = e.code;
  if (code === 'rate_limited') return t('common.error.rate_limited', { wait: waitText(e.retryAfterSecs) });
  if (code === 'unexpected') return t('common.error.unexpected', { status: e.status });
  if (has(`common.error.${code}`)) return t(`common.error.${code}`);
  if (has(`guest.error.${code}`)) return t(`guest.error.${code}`);
  if (has(`member.error.${code}`)) return t(`member.error.${code}`);
  return t('common.error.other', { code });
}

/** A "try again" block for a failed load. */
export function retryBlock(e: unknown, again: () => void): HTMLDivElement {
  const retry = el('button', { type: 'button' }, t('common.try_again'));
  retry.addEventListener('click', again);
  return el('div', {}, el('p', { role: 'alert' }, describe(e)), retry);
}

/** The word typed to confirm a deletion, in the page's language. A click
 * is not enough: mail scanners and link checkers click every button they
 * find, hidden ones too, and a deleted conversation cannot come back. */
export function deleteWord(): string {
  return t('common.delete.word');
}

export interface TypedConfirmation {
  field: HTMLDivElement;
  input: HTMLInputElement;
  /** Whether the word is typed (any case, spaces around allowed); if not,
   * marks the field, says so in `status` and puts the focus there. */
  check(status: HTMLElement): boolean;
  clear(): void;
}

/** A labelled input for `deleteWord()`, to put in a confirmation box. */
export function typedConfirmation(): TypedConfirmation {
  const input = el('input', {
    type: 'text',
    autocomplete: 'off',
    autocapitalize: 'none',
    spellcheck: 'false',
    class: 'confirm-word',
  });
  const word = deleteWord();
  const wrapper = field(t('common.delete.label', { word }), input);
  return {
    field: wrapper,
    input,
    check(status) {
      if (input.value.trim().toLocaleLowerCase(lang()) === word.toLocaleLowerCase(lang())) {
        input.removeAttribute('aria-invalid');
        return true;
      }
      input.setAttribute('aria-invalid', 'true');
      status.textContent = t('common.delete.not_typed', { word });
      input.focus();
      return false;
    },
    clear() {
      input.value = '';
      input.removeAttribute('aria-invalid');
    },
  };
}
