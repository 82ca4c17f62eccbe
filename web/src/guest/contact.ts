// /m/HANDLE: a guest writes to a member. The browser makes the
// conversation key, seals it to the member's public key, encrypts the
// message (with the guest's address and name inside, for the member only)
// and makes the first link; the server e-mails that link to the guest.
// `framed`: the same form in a frame on the site's own pages (embed.ts).
import { Conversation, fingerprint } from 'latchkey-wasm-guest';
import { api, ApiError, fromB64, toB64, type PublicMember, type StartConversation, type Started } from '../common/api';
import { el, field, show, statusLine } from '../common/dom';
import { t } from '../common/i18n';
import { describe, retryBlock } from '../common/ui';
import { ownWindowLink, showQuietly } from './embed';

export async function contactPage(handle: string, framed = false): Promise<void> {
  // Until the guest acts, a frame keeps the focus where it is.
  const render = framed ? showQuietly : show;
  const status = statusLine();
  render(el('h1', {}, t('guest.contact.title')), status);
  status.textContent = t('common.loading');
  let member: PublicMember;
  try {
    member = await api.get<PublicMember>(`/members/${handle}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      render(el('h1', {}, t('guest.contact.missing_heading')), el('p', {}, t('guest.contact.missing_text')));
    } else {
      render(el('h1', {}, t('guest.contact.title')), retryBlock(e, () => void contactPage(handle, framed)));
    }
    return;
  }
  // Disabled by the site: no form, the server would refuse the message.
  if (!member.accepts_messages) {
    render(
      el('h1', {}, t('guest.contact.disabled_heading', { member: member.display_name })),
      el('p', {}, t('guest.contact.disabled_text', { member: member.display_name })),
    );
    return;
  }
  const publicKey = fromB64(member.identity_public);
  // Computed here from the key the message will be sealed to, not taken
  // from the server's word.
  const print = fingerprint(publicKey);

  const email = el('input', { type: 'email', name: 'email', required: true, autocomplete: 'email' });
  const name = el('input', { type: 'text', name: 'name', autocomplete: 'name', maxlength: '80' });
  const text = el('textarea', { name: 'message', rows: framed ? '5' : '8', required: true, maxlength: '20000' });
  const send = el('button', { type: 'submit', class: 'primary' }, t('guest.contact.send'));
  const sendStatus = statusLine();
  const form = el(
    'form',
    { 'aria-label': t('guest.contact.form', { member: member.display_name }) },
    field(t('guest.field.email'), email, t('guest.contact.email_hint')),
    field(t('guest.contact.name'), name),
    field(t('guest.contact.message'), text),
    send,
    sendStatus,
  );
  render(
    el('h1', {}, t('guest.contact.heading', { member: member.display_name })),
    el('p', {}, t('guest.contact.intro')),
    el('p', { class: 'hint' }, t('guest.contact.fingerprint', { fingerprint: print })),
    form,
    framed && ownWindowLink(handle),
  );
  // Kept while the form is unchanged, so that a retry after a lost answer
  // repeats the same conversation (the server refuses a second copy) instead
  // of starting another one.
  let prepared: { inputs: string; body: StartConversation } | null = null;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = text.value;
    const address = email.value.trim();
    if (!body.trim() || !address) {
      sendStatus.textContent = t('guest.contact.incomplete');
      return;
    }
    const inputs = JSON.stringify([address, name.value.trim(), body]);
    if (prepared?.inputs !== inputs) {
      try {
        const conversation = Conversation.create();
        const grant = conversation.newGrant();
        const message = conversation.encrypt('guest', Date.now(), body, address, name.value.trim());
        prepared = {
          inputs,
          body: {
            guest_email: address,
            conversation_id: conversation.id,
            sealed_key: toB64(conversation.sealToMember(publicKey)),
            message: { message_id: message.messageId, ciphertext: toB64(message.ciphertext) },
            grant: { grant_id: grant.grantId(), wrapped_key: toB64(grant.wrapped) },
            link: grant.exposeFragment(),
          },
        };
        grant.free();
        conversation.free();
      } catch (e) {
        sendStatus.textContent = describe(e);
        return;
      }
    }
    send.disabled = true;
    sendStatus.textContent = t('guest.contact.sending');
    api
      .post<Started, StartConversation>(`/members/${handle}/conversations`, prepared.body)
      .catch((e: unknown) => {
        // The first try arrived after all: it is the same conversation.
        if (e instanceof ApiError && e.code === 'conversation_exists') return null;
        throw e;
      })
      .then(() => {
        show(
          el('h1', {}, t('guest.contact.sent_heading')),
          el('p', {}, t('guest.contact.sent_text', { member: member.display_name, email: address })),
          framed && el('p', {}, t('guest.embed.sent_next')),
          el('h2', {}, t('guest.contact.yours')),
          el('p', { class: 'body' }, body),
        );
      })
      .catch((e: unknown) => {
        sendStatus.textContent = describe(e);
        send.disabled = false;
        send.focus();
      });
  });
}
