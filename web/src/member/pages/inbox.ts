// /inbox: the member's conversations, newest activity first. The guest's
// address and name come from the introduction inside his first message,
// decrypted in the worker. Pending new-link requests are answered there too.
import { el, show, statusLine } from '../../common/dom';
import { live } from '../../common/live';
import { t, tn, tNodes, when } from '../../common/i18n';
import { rpc } from '../client';
import type { InboxRow } from '../rpc';
import { problemText, retryBlock } from '../ui';

function who(row: { guestEmail: string | null; guestName: string | null }): string {
  if (row.guestName && row.guestEmail) return `${row.guestName} <${row.guestEmail}>`;
  return row.guestEmail ?? row.guestName ?? t('member.unknown_guest');
}

function item(row: InboxRow): HTMLLIElement {
  const notes: (HTMLElement | null)[] = [
    row.unread > 0 ? el('span', { class: 'badge' }, tn('member.inbox.unread', row.unread)) : null,
    row.confirmed ? null : el('span', { class: 'badge warn' }, t('member.not_confirmed')),
    row.linkSent ? el('span', { class: 'badge' }, t('member.link_sent')) : null,
    row.claimedEmail ? el('span', { class: 'badge warn' }, t('member.claims', { email: row.claimedEmail })) : null,
  ];
  return el(
    'li',
    { class: row.unread > 0 ? 'conversation unread' : 'conversation' },
    el('a', { href: `/conversations/${row.id}` }, who(row)),
    el('p', { class: 'meta' }, t('member.inbox.meta', { when: when(row.lastActivityAt), messages: tn('member.inbox.messages', row.lastSeq) })),
    notes.some(Boolean) ? el('p', { class: 'notes' }, ...notes) : null,
    row.problem ? el('p', { class: 'problem' }, problemText(row.problem)) : null,
  );
}

export async function inboxPage(handle: string): Promise<void> {
  document.title = t('member.inbox.title');
  const status = statusLine();
  const list = el('ul', { class: 'inbox', 'aria-label': t('member.inbox.list') });
  const more = el('button', { type: 'button', class: 'secondary', hidden: true }, t('member.inbox.older'));
  const refresh = el('button', { type: 'button', class: 'secondary' }, t('member.inbox.refresh'));
  refresh.addEventListener('click', () => void inboxPage(handle));
  show(el('h1', {}, t('member.inbox.heading')), status, list, more, el('div', { class: 'actions' }, refresh));
  status.textContent = t('member.inbox.loading');
  let before: string | null = null;
  const load = async (): Promise<boolean> => {
    try {
      const page = await rpc('inbox', { before });
      list.append(...page.rows.map(item));
      before = page.nextBefore;
      more.hidden = before === null;
      const sent = page.rows.filter((r) => r.linkSent).length;
      if (list.children.length === 0) {
        const contact = `${location.origin}/m/${handle}`;
        list.replaceWith(
          el('p', {}, ...tNodes('member.inbox.empty', { link: el('a', { href: contact }, contact) })),
        );
      }
      status.textContent = sent > 0 ? tn('member.inbox.links_sent', sent) : '';
      return true;
    } catch (e) {
      status.textContent = '';
      status.after(retryBlock(e, () => void inboxPage(handle)));
      return false;
    }
  };
  more.addEventListener('click', () => {
    more.disabled = true;
    status.textContent = t('common.loading');
    void load().finally(() => {
      more.disabled = false;
    });
  });
  await load();
  // A new message or a deleted conversation re-renders the list, as
  // "Refresh" does (not a link event: that would wipe the line saying
  // which links this load sent).
  live(refresh, LIVE_TYPES, (type) => {
    if (type === 'message.created' || type === 'conversation.deleted') void inboxPage(handle);
  });
}

/** What the member's pages follow live. */
export const LIVE_TYPES = ['message.created', 'link.opened', 'link.requested', 'conversation.deleted'];

