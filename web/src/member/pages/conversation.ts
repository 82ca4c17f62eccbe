// /conversations/ID: one conversation, decrypted in the worker and shown as
// text. A reply goes with a new link for the guest: e-mailed by the server
// (default), or delivered by the member himself (the server never sees it).
import { api, type ReadMark } from '../../common/api';
import { el, field, pageForm, show, statusLine } from '../../common/dom';
import { t, when } from '../../common/i18n';
import { rpc } from '../client';
import type { SendResult, ShownMessage, Thread } from '../rpc';
import { navigate } from '../router';
import { copyField, describe, problemText, retryBlock } from '../ui';
import { typedConfirmation } from '../../common/ui';
import { live } from '../../common/live';
import { LIVE_TYPES } from './inbox';

function guestLabel(thread: Thread): string {
  return thread.guestName ?? thread.guestEmail ?? t('member.conversation.the_guest');
}

function messageItem(m: ShownMessage, guest: string): HTMLLIElement {
  return el(
    'li',
    { class: m.sender === 'member' ? 'message mine' : 'message theirs' },
    el('p', { class: 'meta' }, `${m.sender === 'member' ? t('common.you') : guest} · ${when(m.sentAt)}`),
    m.body !== null ? el('p', { class: 'body' }, m.body) : el('p', { class: 'problem' }, problemText(m.problem ?? 'damaged')),
    m.readAt !== undefined ? el('p', { class: 'meta read' }, t('member.receipts.read', { when: when(m.readAt) })) : null,
  );
}

/** The link the member hands over himself: copy it, or write the e-mail in his own mail program. */
function deliveryBox(thread: Thread, fragment: string): HTMLElement {
  const link = `${location.origin}/open#${fragment}`;
  const guest = guestLabel(thread);
  const subject = t('member.conversation.mail_subject');
  const body = t('member.conversation.mail_body', { link });
  const mailto = `mailto:${encodeURIComponent(thread.guestEmail ?? '')}?subject=${encodeURIComponent(subject)}&body=${encodeURIComponent(body)}`;
  return el(
    'section',
    { class: 'linkbox', 'aria-labelledby': 'deliver-heading' },
    el('h2', { id: 'deliver-heading' }, t('member.conversation.own_link_heading', { guest })),
    el('p', {}, t('member.conversation.own_link_text')),
    copyField(t('member.conversation.own_link'), link, { id: 'own-link', copyLabel: t('member.conversation.copy_link') }),
    thread.guestEmail
      ? el('p', {}, el('a', { href: mailto, class: 'button' }, t('member.conversation.write_mail', { email: thread.guestEmail })))
      : null,
  );
}

function sentText(r: SendResult, thread: Thread): string {
  const guest = guestLabel(thread);
  if (r.fragment) return t('member.conversation.sent_self', { guest });
  if (r.notification === 'queued') return t('member.conversation.sent_queued', { guest });
  if (r.notification === 'coalesced') return t('member.conversation.sent_coalesced', { guest });
  if (r.notification === 'capped') return t('member.conversation.sent_capped', { guest });
  return t('member.conversation.sent');
}

export async function conversationPage(id: string): Promise<void> {
  document.title = t('member.conversation.title');
  const status = statusLine();
  show(el('h1', {}, t('member.conversation.heading_loading')), status);
  status.textContent = t('member.conversation.loading');
  let thread: Thread;
  try {
    thread = await rpc('thread', { id });
  } catch (e) {
    status.textContent = '';
    if ((e as { code?: string }).code === 'unknown_conversation') {
      show(
        el('h1', {}, t('member.conversation.missing_heading')),
        el('p', {}, t('member.conversation.missing_text')),
        el('a', { href: '/inbox' }, t('member.conversation.back')),
      );
      return;
    }
    status.after(retryBlock(e, () => void conversationPage(id)));
    return;
  }
  const guest = guestLabel(thread);
  document.title = t('member.conversation.guest_title', { guest });
  const list = el('ol', { class: 'messages', 'aria-label': t('common.messages') }, ...thread.messages.map((m) => messageItem(m, guest)));
  // The newest message shown (live updates append only what is newer).
  let shownSeq = thread.lastSeq;
  const address = thread.guestEmail
    ? el(
        'div',
        {},
        el('p', { class: 'hint' }, t('member.conversation.address', { email: thread.guestEmail }), thread.confirmed ? null : el('span', { class: 'badge warn' }, t('member.conversation.not_confirmed'))),
        thread.claimedEmail
          ? el('p', { class: 'warning', role: 'note' }, t('member.conversation.claimed', { claimed: thread.claimedEmail, email: thread.guestEmail }))
          : null,
      )
    : null;

  // Reply.
  const text = el('textarea', { name: 'reply', rows: '5', required: true, maxlength: '20000' });
  const byMail = el('input', { type: 'radio', name: 'delivery', value: 'email', id: 'delivery-email', checked: true });
  const bySelf = el('input', { type: 'radio', name: 'delivery', value: 'self', id: 'delivery-self' });
  const send = el('button', { type: 'submit' }, t('common.reply.send'));
  const replyStatus = statusLine();
  const delivered = el('div', {});
  const form = pageForm(
    { class: 'reply', 'aria-label': t('common.reply.form'), novalidate: true },
    field(t('common.reply.label'), text),
    el(
      'fieldset',
      {},
      el('legend', {}, t('member.conversation.delivery')),
      el('div', { class: 'check' }, byMail, el('label', { for: byMail.id }, t('member.conversation.by_mail'))),
      el('div', { class: 'check' }, bySelf, el('label', { for: bySelf.id }, t('member.conversation.by_self'))),
    ),
    send,
    replyStatus,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = text.value;
    if (!body.trim()) {
      replyStatus.textContent = t('member.conversation.empty_reply');
      text.focus();
      return;
    }
    const delivery = bySelf.checked ? 'self' : 'email';
    send.disabled = true;
    delivered.replaceChildren();
    replyStatus.textContent = t('common.sending');
    rpc('send', { id, body, delivery })
      .then((r) => {
        list.append(messageItem({ seq: r.seq, sender: 'member', sentAt: r.sentAt, body, problem: null }, guest));
        shownSeq = Math.max(shownSeq, r.seq);
        text.value = '';
        text.focus();
        replyStatus.textContent = sentText(r, thread);
        if (r.fragment) delivered.append(deliveryBox(thread, r.fragment));
      })
      .catch((e: unknown) => {
        replyStatus.textContent = t('member.conversation.not_sent', { reason: describe(e) });
      })
      .finally(() => {
        send.disabled = false;
      });
  });

  const reload = el('button', { type: 'button', class: 'secondary' }, t('member.conversation.check'));
  reload.addEventListener('click', () => void conversationPage(id));

  // Deletion, confirmed by typing a word: the guest's copy goes too, for
  // good, so a stray click (or a program clicking every button) must not do it.
  const remove = el('button', { type: 'button', class: 'danger' }, t('common.delete.button'));
  const word = typedConfirmation();
  // Landing in the box, a screen reader reads what it is about to confirm.
  word.input.setAttribute('aria-describedby', 'delete-what');
  const yes = el('button', { type: 'submit', class: 'danger' }, t('common.delete.yes'));
  const no = el('button', { type: 'button', class: 'secondary' }, t('common.delete.keep'));
  const deleteStatus = statusLine();
  const confirmBox = pageForm(
    { class: 'confirm', hidden: true, 'aria-labelledby': 'delete-what', novalidate: true },
    el('p', { id: 'delete-what' }, t('member.conversation.delete_what', { guest })),
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

  const heading = t('member.conversation.heading', { guest });
  show(
    el('p', { class: 'back' }, el('a', { href: '/inbox' }, t('member.conversation.back_short'))),
    el('h1', {}, heading),
    address,
    thread.linkSent ? el('p', { class: 'hint' }, t('member.conversation.link_sent')) : null,
    list,
    form,
    delivered,
    el('div', { class: 'actions' }, reload, remove),
    confirmBox,
  );

  // Read up to the last message shown.
  if (thread.unread > 0 && thread.lastSeq > 0) {
    void api.post<null, ReadMark>(`/conversations/${id}/read`, { seq: thread.lastSeq }).catch(() => undefined);
  }

  // Live: the guest's new messages appear here (fetched and decrypted as
  // "Check for new messages" does, without re-rendering the reply box).
  live(list, LIVE_TYPES, (type, data) => {
    if (type !== 'message.created' || data.conversation !== id) return;
    void rpc('thread', { id })
      .then((fresh) => {
        const added = fresh.messages.filter((m) => m.seq > shownSeq);
        list.append(...added.map((m) => messageItem(m, guest)));
        shownSeq = Math.max(shownSeq, fresh.lastSeq);
        if (added.some((m) => m.sender === 'guest')) {
          void api.post<null, ReadMark>(`/conversations/${id}/read`, { seq: fresh.lastSeq }).catch(() => undefined);
        }
      })
      .catch(() => undefined);
  });
}
