// /inbox: the member's conversations, newest activity first. The guest's
// address and name come from the introduction inside his first message,
// decrypted in the worker. Pending new-link requests are answered there too.
import { el, show, statusLine, when } from '../../common/dom';
import { rpc } from '../client';
import type { InboxRow } from '../rpc';
import { retryBlock } from '../ui';

function who(row: { guestEmail: string | null; guestName: string | null }): string {
  if (row.guestName && row.guestEmail) return `${row.guestName} <${row.guestEmail}>`;
  return row.guestEmail ?? row.guestName ?? 'Unknown guest';
}

function item(row: InboxRow): HTMLLIElement {
  const notes: (HTMLElement | null)[] = [
    row.unread > 0 ? el('span', { class: 'badge' }, `${row.unread} unread`) : null,
    row.confirmed ? null : el('span', { class: 'badge warn' }, 'address not yet confirmed'),
    row.linkSent ? el('span', { class: 'badge' }, 'new link sent to the guest') : null,
    row.claimedEmail ? el('span', { class: 'badge warn' }, `says he is ${row.claimedEmail}`) : null,
  ];
  return el(
    'li',
    { class: row.unread > 0 ? 'conversation unread' : 'conversation' },
    el('a', { href: `/conversations/${row.id}` }, who(row)),
    el('p', { class: 'meta' }, `Last activity ${when(row.lastActivityAt)} · ${row.lastSeq} message${row.lastSeq === 1 ? '' : 's'}`),
    notes.some(Boolean) ? el('p', { class: 'notes' }, ...notes) : null,
    row.problem ? el('p', { class: 'problem' }, row.problem) : null,
  );
}

export async function inboxPage(handle: string): Promise<void> {
  document.title = 'Inbox — latchkey';
  const status = statusLine();
  const list = el('ul', { class: 'inbox', 'aria-label': 'Conversations' });
  const more = el('button', { type: 'button', class: 'secondary', hidden: true }, 'Show older conversations');
  const refresh = el('button', { type: 'button', class: 'secondary' }, 'Refresh');
  refresh.addEventListener('click', () => void inboxPage(handle));
  show(el('h1', {}, 'Inbox'), status, list, more, el('div', { class: 'actions' }, refresh));
  status.textContent = 'Loading and decrypting your conversations…';
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
          el('p', {}, 'No conversations yet. Guests write to you from your contact page: ', el('a', { href: contact }, contact)),
        );
      }
      status.textContent = sent > 0 ? `Sent ${sent} guest${sent === 1 ? '' : 's'} the new link they asked for.` : '';
      return true;
    } catch (e) {
      status.textContent = '';
      status.after(retryBlock(e, () => void inboxPage(handle)));
      return false;
    }
  };
  more.addEventListener('click', () => {
    more.disabled = true;
    status.textContent = 'Loading…';
    void load().finally(() => {
      more.disabled = false;
    });
  });
  await load();
}

