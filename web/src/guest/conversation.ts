// An open conversation, as its guest sees it: the messages, decrypted
// here, a reply box, sign-out and deletion (only with the word typed).
import { fingerprint, type Conversation } from 'latchkey-wasm-guest';
import { allMessages, api, ApiError, call, fromB64, toB64, type GuestConversationView, type PostMessage, type PostedView, type PublicMember, type ReadReceipts } from '../common/api';
import { describe, retryBlock, typedConfirmation } from '../common/ui';
import { el, field, pageForm, show, statusLine } from '../common/dom';
import { t, when } from '../common/i18n';
import { live } from '../common/live';
import { forgetLink } from './link-store';
import { newLinkForm } from './newlink';

interface Shown {
  mine: boolean;
  sentAt: number;
  body: string;
  /** His own messages: when the member read it, if receipts are on on both sides. */
  readAt?: number | undefined;
}

function messageItem(m: Shown, memberName: string): HTMLLIElement {
  return el(
    'li',
    { class: m.mine ? 'message mine' : 'message theirs' },
    el('p', { class: 'meta' }, `${m.mine ? t('common.you') : memberName} · ${when(m.sentAt)}`),
    el('p', { class: 'body' }, m.body),
    m.readAt !== undefined ? el('p', { class: 'meta read' }, t('guest.receipts.read', { when: when(m.readAt) })) : null,
  );
}

/** His read-receipt switch for this conversation, saved when flipped. */
function receiptsSwitch(conversationId: string): HTMLElement {
  const box = el('input', { type: 'checkbox', id: 'read-receipts', disabled: true });
  const status = statusLine();
  const path = `/conversations/${conversationId}`;
  api
    .get<GuestConversationView>(path)
    .then((v) => {
      box.checked = v.read_receipts;
      box.disabled = false;
    })
    .catch(() => undefined);
  box.addEventListener('change', () => {
    box.disabled = true;
    const body: ReadReceipts = { read_receipts: box.checked };
    call<null>('PUT', `${path}/read-receipts`, body)
      .then(() => {
        status.textContent = '';
      })
      .catch((e: unknown) => {
        box.checked = !box.checked;
        status.textContent = describe(e);
      })
      .finally(() => {
        box.disabled = false;
      });
  });
  return el('div', { class: 'check' }, box, el('label', { for: box.id }, t('guest.receipts.switch')), status);
}

/** An encrypted reply kept while its text is unchanged, so that a retry
 * after a lost answer sends the same message id (the server then answers
 * "already stored") instead of a second copy. */
interface Pending {
  text: string;
  sentAt: number;
  messageId: string;
  ciphertext: string;
}

/** Shows the conversation; `key` stays in this page's memory. */
export async function conversationView(
  conversationId: string,
  key: Conversation,
  member: PublicMember,
): Promise<void> {
  const list = el('ol', { class: 'messages', role: 'list', 'aria-label': t('common.messages') });
  const status = statusLine();
  show(
    el('h1', {}, t('guest.conversation.heading', { member: member.display_name })),
    el('p', { class: 'hint' }, t('guest.conversation.fingerprint', { fingerprint: fingerprint(fromB64(member.identity_public)) })),
    list,
    status,
  );
  status.textContent = t('guest.conversation.loading');
  // The newest message shown: live updates append only what is newer.
  let last = 0;
  try {
    const views = await allMessages(conversationId);
    last = views.at(-1)?.seq ?? 0;
    list.append(
      ...views.map((v) => {
        const m = key.decrypt(v.message_id, v.sender, fromB64(v.ciphertext));
        return messageItem({ mine: v.sender === 'guest', sentAt: m.sentAt, body: m.body, readAt: v.read_at }, member.display_name);
      }),
    );
    status.textContent = '';
  } catch (e) {
    status.textContent = '';
    status.after(retryBlock(e, () => void conversationView(conversationId, key, member)));
    return;
  }

  const text = el('textarea', { name: 'reply', rows: '5', required: true, maxlength: '20000' });
  const send = el('button', { type: 'submit' }, t('common.reply.send'));
  const replyStatus = statusLine();
  const sessionEnded = el('div', {});
  const form = pageForm({ class: 'reply', 'aria-label': t('common.reply.form') }, field(t('common.reply.label'), text), send, replyStatus);
  let pending: Pending | null = null;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = text.value;
    if (!body.trim()) {
      replyStatus.textContent = t('guest.conversation.empty_reply');
      text.focus();
      return;
    }
    if (pending?.text !== body) {
      try {
        const sentAt = Date.now();
        const encrypted = key.encrypt('guest', sentAt, body);
        pending = { text: body, sentAt, messageId: encrypted.messageId, ciphertext: toB64(encrypted.ciphertext) };
      } catch (e) {
        replyStatus.textContent = describe(e);
        return;
      }
    }
    const sending = pending;
    send.disabled = true;
    replyStatus.textContent = t('common.sending');
    api
      .post<PostedView, PostMessage>(`/conversations/${conversationId}/messages`, {
        message_id: sending.messageId,
        ciphertext: sending.ciphertext,
      })
      .then((posted) => {
        last = Math.max(last, posted.seq);
        list.append(messageItem({ mine: true, sentAt: sending.sentAt, body: sending.text }, member.display_name));
        pending = null;
        text.value = '';
        replyStatus.textContent = t('guest.conversation.sent', { member: member.display_name });
      })
      .catch((e: unknown) => {
        replyStatus.textContent = describe(e);
        if (e instanceof ApiError && e.status === 401) sessionEnded.replaceChildren(newLinkForm(member.handle));
      })
      .finally(() => {
        send.disabled = false;
        text.focus();
      });
  });

  const signOutStatus = statusLine();
  const signOut = el('button', { type: 'button', class: 'secondary' }, t('guest.conversation.sign_out'));
  signOut.addEventListener('click', () => {
    signOut.disabled = true;
    api
      .post<null, Record<string, never>>('/session/logout', {})
      .then(() => {
        void forgetLink().catch(() => undefined);
        show(
          el('h1', {}, t('guest.signed_out.heading')),
          el('p', {}, t('guest.signed_out.text')),
        );
      })
      .catch((e: unknown) => {
        signOut.disabled = false;
        signOutStatus.textContent = t('guest.conversation.not_signed_out', { reason: describe(e) });
        signOut.focus();
      });
  });

  // Deleting is for both sides and for good, so a click is not enough: a
  // program clicking through the page (a mail scanner, an extension) would
  // find the button as easily as the guest does. It has to type the word.
  const remove = el('button', { type: 'button', class: 'danger' }, t('common.delete.button'));
  const warning = el(
    'p',
    { id: 'delete-warning' },
    t('guest.conversation.delete_what'),
  );
  const word = typedConfirmation();
  // Landing in the box, a screen reader reads what it is about to confirm.
  word.input.setAttribute('aria-describedby', 'delete-warning');
  const yes = el('button', { type: 'submit', class: 'danger', 'aria-describedby': 'delete-warning' }, t('common.delete.yes'));
  const no = el('button', { type: 'button', class: 'secondary' }, t('common.delete.keep'));
  const deleteStatus = statusLine();
  const confirmBox = pageForm(
    { class: 'confirm', 'aria-label': t('common.delete.form'), hidden: true, novalidate: true },
    warning,
    word.field,
    yes,
    no,
    deleteStatus,
  );
  remove.addEventListener('click', () => {
    confirmBox.hidden = false;
    word.input.focus();
  });
  no.addEventListener('click', () => {
    confirmBox.hidden = true;
    word.clear();
    deleteStatus.textContent = '';
    remove.focus();
  });
  let deleting = false;
  confirmBox.addEventListener('submit', (event) => {
    event.preventDefault();
    if (deleting || !word.check(deleteStatus)) return;
    deleting = true;
    yes.disabled = true;
    deleteStatus.textContent = t('common.deleting');
    api
      .del(`/conversations/${conversationId}`)
      .then(() => {
        void forgetLink().catch(() => undefined);
        show(
          el('h1', {}, t('guest.deleted.heading')),
          el('p', {}, t('guest.deleted.text')),
        );
      })
      .catch((e: unknown) => {
        deleting = false;
        yes.disabled = false;
        deleteStatus.textContent = describe(e);
        yes.focus();
      });
  });
  document.getElementById('app')?.append(
    form,
    sessionEnded,
    el('div', { class: 'actions' }, signOut, remove, signOutStatus),
    confirmBox,
    receiptsSwitch(conversationId),
  );
  // The member's replies appear without a reload; a deleted conversation
  // ends the stream (the session went with it).
  live(list, ['message.created', 'conversation.deleted'], (type, d) => {
    if (type !== 'message.created') return false;
    if (d.sender === 'member')
      void allMessages(conversationId).then(
        (views) =>
          list.append(
            ...views
              .filter((v) => v.seq > last)
              .map((v) => {
                last = v.seq;
                const m = key.decrypt(v.message_id, v.sender, fromB64(v.ciphertext));
                return messageItem({ mine: v.sender === 'guest', sentAt: m.sentAt, body: m.body }, member.display_name);
              }),
          ),
        () => undefined,
      );
  });
}
