// Small pieces the guest's and the member's pages share.
import { ApiError } from './api';
import { el, field } from './dom';

/** "in 40 seconds", "in 3 minutes": how long a refused person waits. */
export function waitText(secs: number | null): string {
  if (secs === null) return 'in a minute';
  if (secs < 90) return `in ${Math.max(secs, 1)} seconds`;
  return `in ${Math.ceil(secs / 60)} minutes`;
}

/** An error in words. */
export function describe(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.code === 'rate_limited') return `Too many attempts. Try again ${waitText(e.retryAfterSecs)}.`;
    return e.message;
  }
  return 'Something went wrong in this page. Reload it to try again.';
}

/** A "try again" block for a failed load. */
export function retryBlock(e: unknown, again: () => void): HTMLDivElement {
  const retry = el('button', { type: 'button' }, 'Try again');
  retry.addEventListener('click', again);
  return el('div', {}, el('p', { role: 'alert' }, describe(e)), retry);
}

/** The word typed to confirm a deletion. A click is not enough: mail
 * scanners and link checkers click every button they find, hidden ones too,
 * and a deleted conversation cannot come back. */
export const DELETE_WORD = 'delete';

export interface TypedConfirmation {
  field: HTMLDivElement;
  input: HTMLInputElement;
  /** Whether the word is typed (any case, spaces around allowed); if not,
   * marks the field, says so in `status` and puts the focus there. */
  check(status: HTMLElement): boolean;
  clear(): void;
}

/** A labelled input for `DELETE_WORD`, to put in a confirmation box. */
export function typedConfirmation(): TypedConfirmation {
  const input = el('input', {
    type: 'text',
    autocomplete: 'off',
    autocapitalize: 'none',
    spellcheck: 'false',
    class: 'confirm-word',
  });
  const wrapper = field(`Type “${DELETE_WORD}” to confirm`, input);
  return {
    field: wrapper,
    input,
    check(status) {
      if (input.value.trim().toLowerCase() === DELETE_WORD) {
        input.removeAttribute('aria-invalid');
        return true;
      }
      input.setAttribute('aria-invalid', 'true');
      status.textContent = `Nothing was deleted. To delete, type the word “${DELETE_WORD}” in the box above, then press the button again.`;
      input.focus();
      return false;
    },
    clear() {
      input.value = '';
      input.removeAttribute('aria-invalid');
    },
  };
}
