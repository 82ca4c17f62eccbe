// An open conversation, as its guest sees it: the messages, decrypted
// here, a reply box, sign-out and deletion.
import type { Conversation } from 'latchkey-wasm-guest';
import { allMessages, api, ApiError, fromB64, toB64, type PublicMember } from '../common/api';
import { el, field, show, statusLine, when } from '../common/dom';
import { newLinkForm } from './newlink';

interface Shown {
  seq: number;
  mine: boolean;
  sentAt: number;
  body: string;
}

function messageItem(m: Shown, memberName: string): HTMLLIElement {
  return el(
    'li',
    { class: m.mine ? 'message mine' : 'message theirs' },
    el('p', { class: 'meta' }, `${m.mine ? 'You' : memberName} · ${when(m.sentAt)}`),
    el('p', { class: 'body' }, m.body),
  );
}

/** Shows the conversation; `key` stays in this page's memory. */
export async function conversationView(
  conversationId: string,
  key: Conversation,
  member: PublicMember,
): Promise<void> {
  const list = el('ol', { class: 'messages', 'aria-label': 'Messages' });
  const status = statusLine();
  show(
    el('h1', {}, `Your conversation with ${member.display_name}`),
    el('p', { class: 'hint' }, `Their key fingerprint: ${member.fingerprint}`),
    list,
    status,
  );
  status.textContent = 'Loading messages…';
  try {
    const views = await allMessages(conversationId);
    const items = views.map((v) => {
      const m = key.decrypt(v.message_id, v.sender, fromB64(v.ciphertext));
      return messageItem(
        { seq: v.seq, mine: v.sender === 'guest', sentAt: m.sentAt, body: m.body },
        member.display_name,
      );
    });
    list.append(...items);
    status.textContent = '';
  } catch (e) {
    status.textContent = describe(e);
    return;
  }

  const text = el('textarea', { name: 'reply', rows: '5', required: true, maxlength: '20000' });
  const send = el('button', { type: 'submit' }, 'Send reply');
  const replyStatus = statusLine();
  const form = el('form', { class: 'reply', 'aria-label': 'Reply' }, field('Your reply', text), send, replyStatus);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = text.value;
    if (!body.trim()) return;
    send.disabled = true;
    replyStatus.textContent = 'Sending…';
    const sentAt = Date.now();
    const encrypted = key.encrypt('guest', sentAt, body);
    api
      .post<{ seq: number }>(`/conversations/${conversationId}/messages`, {
        message_id: encrypted.messageId,
        ciphertext: toB64(encrypted.ciphertext),
      })
      .then((posted) => {
        list.append(messageItem({ seq: posted.seq, mine: true, sentAt, body }, member.display_name));
        text.value = '';
        replyStatus.textContent = `Sent. ${member.display_name} gets an e-mail (without your text).`;
      })
      .catch((e: unknown) => {
        replyStatus.textContent = describe(e);
        if (e instanceof ApiError && e.status === 401) form.after(newLinkForm(member.handle));
      })
      .finally(() => {
        send.disabled = false;
      });
  });

  const signOut = el('button', { type: 'button', class: 'secondary' }, 'Sign out on this computer');
  signOut.addEventListener('click', () => {
    api
      .post('/session/logout', {})
      .catch(() => undefined)
      .finally(() => {
        sessionStorage.clear();
        show(
          el('h1', {}, 'Signed out'),
          el('p', {}, 'This browser no longer has access. Your e-mail links still work until they are used up.'),
        );
      });
  });

  const remove = el('button', { type: 'button', class: 'danger' }, 'Delete this conversation');
  const confirmBox = el('div', { class: 'confirm', hidden: true });
  remove.addEventListener('click', () => {
    confirmBox.hidden = false;
    yes.focus();
  });
  const yes = el('button', { type: 'button', class: 'danger' }, 'Yes, delete it for both of us');
  const no = el('button', { type: 'button', class: 'secondary' }, 'Keep it');
  no.addEventListener('click', () => {
    confirmBox.hidden = true;
    remove.focus();
  });
  yes.addEventListener('click', () => {
    yes.disabled = true;
    api
      .del(`/conversations/${conversationId}`)
      .then(() => {
        sessionStorage.clear();
        show(
          el('h1', {}, 'Conversation deleted'),
          el('p', {}, 'Every message of this conversation is gone from the server, for both of you.'),
        );
      })
      .catch((e: unknown) => {
        yes.disabled = false;
        confirmBox.append(el('p', { role: 'alert' }, describe(e)));
      });
  });
  confirmBox.append(
    el('p', {}, 'This removes every message of this conversation from the server, for both of you. It cannot be undone.'),
    yes,
    no,
  );
  document.getElementById('app')?.append(
    form,
    el('div', { class: 'actions' }, signOut, remove),
    confirmBox,
  );
}

export function describe(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  return 'Something went wrong in this page. Reload it to try again.';
}
