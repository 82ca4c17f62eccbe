// /conversations/ID: one conversation, decrypted in the worker and shown as
// text. A reply goes with a new link for the guest: e-mailed by the server
// (default), or delivered by the member himself (the server never sees it).
import { api, type ReadMark } from '../../common/api';
import { el, field, pageForm, show, statusLine, when } from '../../common/dom';
import { rpc } from '../client';
import type { SendResult, ShownMessage, Thread } from '../rpc';
import { navigate } from '../router';
import { copyField, describe, retryBlock } from '../ui';
import { typedConfirmation } from '../../common/ui';

function guestLabel(t: Thread): string {
  return t.guestName ?? t.guestEmail ?? 'the guest';
}

function messageItem(m: ShownMessage, guest: string): HTMLLIElement {
  return el(
    'li',
    { class: m.sender === 'member' ? 'message mine' : 'message theirs' },
    el('p', { class: 'meta' }, `${m.sender === 'member' ? 'You' : guest} · ${when(m.sentAt)}`),
    m.body !== null ? el('p', { class: 'body' }, m.body) : el('p', { class: 'problem' }, m.problem ?? ''),
  );
}

/** The link the member hands over himself: copy it, or write the e-mail in his own mail program. */
function deliveryBox(t: Thread, fragment: string): HTMLElement {
  const link = `${location.origin}/open#${fragment}`;
  const guest = guestLabel(t);
  const subject = 'A new message for you';
  const body = `Hello,\n\nI replied to your message. Open this link to read it (it works once):\n\n${link}\n`;
  const mailto = `mailto:${encodeURIComponent(t.guestEmail ?? '')}?subject=${encodeURIComponent(subject)}&body=${encodeURIComponent(body)}`;
  return el(
    'section',
    { class: 'linkbox', 'aria-labelledby': 'deliver-heading' },
    el('h2', { id: 'deliver-heading' }, `Your link for ${guest}`),
    el('p', {}, 'The server never saw this link. Send it to the guest yourself; it opens the conversation once.'),
    copyField('Link', link, { id: 'own-link' }),
    t.guestEmail
      ? el('p', {}, el('a', { href: mailto, class: 'button' }, `Write the e-mail to ${t.guestEmail}`))
      : null,
  );
}

function sentText(r: SendResult, t: Thread): string {
  const guest = guestLabel(t);
  if (r.fragment) return `Sent. Deliver the link below to ${guest} yourself.`;
  if (r.notification === 'queued') return `Sent. ${guest} gets an e-mail with a link to read it.`;
  if (r.notification === 'coalesced') return `Sent. ${guest} still has an unused link from earlier that opens this message too, so no new e-mail goes out.`;
  if (r.notification === 'capped') return `Sent, but no e-mail goes out: the server's daily e-mail limit for this guest or conversation is reached. The message is stored; ${guest} reads it with a later link.`;
  return 'Sent.';
}

export async function conversationPage(id: string): Promise<void> {
  document.title = 'Conversation — latchkey';
  const status = statusLine();
  show(el('h1', {}, 'Conversation'), status);
  status.textContent = 'Loading and decrypting messages…';
  let t: Thread;
  try {
    t = await rpc('thread', { id });
  } catch (e) {
    status.textContent = '';
    if ((e as { code?: string }).code === 'unknown_conversation') {
      show(el('h1', {}, 'No such conversation'), el('p', {}, 'It may have been deleted.'), el('a', { href: '/inbox' }, 'Back to the inbox'));
      return;
    }
    status.after(retryBlock(e, () => void conversationPage(id)));
    return;
  }
  const guest = guestLabel(t);
  document.title = `${guest} — latchkey`;
  const list = el('ol', { class: 'messages', 'aria-label': 'Messages' }, ...t.messages.map((m) => messageItem(m, guest)));
  const address = t.guestEmail
    ? el(
        'div',
        {},
        el('p', { class: 'hint' }, `Address (his links go here): ${t.guestEmail}`, t.confirmed ? null : el('span', { class: 'badge warn' }, 'not yet confirmed')),
        t.claimedEmail
          ? el('p', { class: 'warning', role: 'note' }, `Careful: his message names another address, ${t.claimedEmail}, which nobody has checked. Replies go to ${t.guestEmail}.`)
          : null,
      )
    : null;

  // Reply.
  const text = el('textarea', { name: 'reply', rows: '5', required: true, maxlength: '20000' });
  const byMail = el('input', { type: 'radio', name: 'delivery', value: 'email', id: 'delivery-email', checked: true });
  const bySelf = el('input', { type: 'radio', name: 'delivery', value: 'self', id: 'delivery-self' });
  const send = el('button', { type: 'submit' }, 'Send reply');
  const replyStatus = statusLine();
  const delivered = el('div', {});
  const form = pageForm(
    { class: 'reply', 'aria-label': 'Reply', novalidate: true },
    field('Your reply', text),
    el(
      'fieldset',
      {},
      el('legend', {}, 'How the guest gets a link to read it'),
      el('div', { class: 'check' }, byMail, el('label', { for: byMail.id }, 'E-mail the guest a link')),
      el('div', { class: 'check' }, bySelf, el('label', { for: bySelf.id }, 'I’ll deliver the link myself')),
    ),
    send,
    replyStatus,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = text.value;
    if (!body.trim()) {
      replyStatus.textContent = 'Write a reply first.';
      text.focus();
      return;
    }
    const delivery = bySelf.checked ? 'self' : 'email';
    send.disabled = true;
    delivered.replaceChildren();
    replyStatus.textContent = 'Sending…';
    rpc('send', { id, body, delivery })
      .then((r) => {
        list.append(messageItem({ seq: r.seq, sender: 'member', sentAt: r.sentAt, body, problem: null }, guest));
        text.value = '';
        text.focus();
        replyStatus.textContent = sentText(r, t);
        if (r.fragment) delivered.append(deliveryBox(t, r.fragment));
      })
      .catch((e: unknown) => {
        replyStatus.textContent = `Not sent: ${describe(e)} Your text is still here; press “Send reply” to try again.`;
      })
      .finally(() => {
        send.disabled = false;
      });
  });

  const reload = el('button', { type: 'button', class: 'secondary' }, 'Check for new messages');
  reload.addEventListener('click', () => void conversationPage(id));

  // Deletion, confirmed by typing a word: the guest's copy goes too, for
  // good, so a stray click (or a program clicking every button) must not do it.
  const remove = el('button', { type: 'button', class: 'danger' }, 'Delete this conversation');
  const word = typedConfirmation();
  // Landing in the box, a screen reader reads what it is about to confirm.
  word.input.setAttribute('aria-describedby', 'delete-what');
  const yes = el('button', { type: 'submit', class: 'danger' }, 'Yes, delete it for both of us');
  const no = el('button', { type: 'button', class: 'secondary' }, 'Keep it');
  const deleteStatus = statusLine();
  const confirmBox = pageForm(
    { class: 'confirm', hidden: true, 'aria-labelledby': 'delete-what', novalidate: true },
    el('p', { id: 'delete-what' }, `This removes every message of this conversation from the server, for you and for ${guest}, and every link to it. It cannot be undone.`),
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
    deleteStatus.textContent = 'Deleting…';
    api
      .del(`/conversations/${id}`)
      .then(() => {
        navigate('/inbox', true);
      })
      .catch((e: unknown) => {
        deleting = false;
        yes.disabled = false;
        deleteStatus.textContent = describe(e);
      });
  });

  const heading = `Conversation with ${guest}`;
  show(
    el('p', { class: 'back' }, el('a', { href: '/inbox' }, '← Inbox')),
    el('h1', {}, heading),
    address,
    t.linkSent ? el('p', { class: 'hint' }, 'The guest asked for a new link; it was just sent by e-mail.') : null,
    list,
    form,
    delivered,
    el('div', { class: 'actions' }, reload, remove),
    confirmBox,
  );

  // Read up to the last message shown.
  if (t.unread > 0 && t.lastSeq > 0) {
    void api.post<null, ReadMark>(`/conversations/${id}/read`, { seq: t.lastSeq }).catch(() => undefined);
  }
}
