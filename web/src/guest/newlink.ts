// "Send me a new link": the answer is the same whether or not the address
// has a conversation here, so the form reveals nothing about anyone.
import { api, type LinkRequest, type LinkRequested } from '../common/api';
import { el, field, pageForm, statusLine } from '../common/dom';
import { t } from '../common/i18n';
import { describe } from '../common/ui';

export function newLinkForm(handle?: string): HTMLFormElement {
  const email = el('input', { type: 'email', name: 'email', required: true, autocomplete: 'email' });
  const send = el('button', { type: 'submit' }, t('guest.newlink.send'));
  const status = statusLine();
  const form = pageForm(
    { class: 'new-link', 'aria-label': t('guest.newlink.heading') },
    el('h2', {}, t('guest.newlink.heading')),
    field(t('guest.field.email'), email, t('guest.newlink.email_hint')),
    send,
    status,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (send.disabled) return;
    send.disabled = true;
    status.textContent = t('common.sending');
    api
      .post<LinkRequested, LinkRequest>('/link-requests', handle ? { email: email.value, handle } : { email: email.value })
      // The server's answer is the same for every address (its English
      // sentence is for API clients); the page says it in its language.
      .then(() => {
        status.textContent = t('guest.newlink.sent');
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
