// Small pieces the guest's and the member's pages share.
import { ApiError } from './api';
import { el } from './dom';

/** An error in words. */
export function describe(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.code === 'rate_limited') return 'Too many attempts. Wait a minute and try again.';
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
