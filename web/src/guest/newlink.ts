// "Send me a new link": the answer is the same whether or not the address
// has a conversation here, so the form reveals nothing about anyone.
import { api, type LinkRequest, type LinkRequested } from '../common/api';
import { el, field, pageForm, statusLine } from '../common/dom';
import { describe } from '../common/ui';

export function newLinkForm(handle?: string): HTMLFormElement {
  const email = el('input', { type: 'email', name: 'email', required: true, autocomplete: 'email' });
  const send = el('button', { type: 'submit' }, 'Send me a new link');
  const status = statusLine();
  const form = pageForm(
    { class: 'new-link', 'aria-label': 'Ask for a new link' },
    el('h2', {}, 'Ask for a new link'),
    field('Your e-mail address', email, 'The address you wrote from. The new link arrives there.'),
    send,
    status,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (send.disabled) return;
    send.disabled = true;
    status.textContent = 'Sending…';
    api
      .post<LinkRequested, LinkRequest>('/link-requests', handle ? { email: email.value, handle } : { email: email.value })
      .then((answer) => {
        status.textContent = answer.message;
      })
      .catch((e: unknown) => {
        status.textContent = describe(e);
      })
      .finally(() => {
        send.disabled = false;
      });
  });
  return form;
}
