// /open#k1.…: the landing page of a link from an e-mail.
//
// The fragment never reaches the server: the page takes it out of the
// address bar before anything else, and keeps it for this tab only (see
// link-store.ts) so that a reload inside the grace window works. Loading the
// page changes nothing on the server; only the click on "Open conversation"
// redeems the link, so a mail scanner that fetches or even renders the page
// does not use it up.
import { fingerprint, Link } from 'latchkey-wasm-guest';
import { api, ApiError, fromB64, type GrantRef, type Peeked, type PublicMember, type RedeemedView } from '../common/api';
import { el, show, statusLine } from '../common/dom';
import { retryBlock } from '../common/ui';
import { conversationView } from './conversation';
import { forgetLink, rememberLink, storedLink } from './link-store';
import { newLinkForm } from './newlink';

/** Reads the fragment and removes it from the address bar. */
export function takeFragment(): string {
  const fragment = location.hash.slice(1);
  if (fragment) {
    history.replaceState(null, '', location.pathname);
    rememberLink(fragment, false);
  }
  return fragment;
}

export async function openPage(fromAddress: string): Promise<void> {
  const stored = storedLink();
  const fragment = fromAddress || stored?.fragment || '';
  if (!fragment) {
    return deadLink(
      'This link is incomplete',
      'The part after “#” is missing. Open the link straight from the e-mail, or ask for a new one.',
    );
  }
  let link: Link;
  try {
    link = Link.parse(fragment);
  } catch {
    forgetLink();
    return deadLink(
      'This link is damaged',
      'Part of it is missing or changed (e-mail programs sometimes break long links). Open it straight from the e-mail, or ask for a new one.',
    );
  }
  // A reload after the click: open again without asking (grace window).
  if (!fromAddress && stored?.opened) return redeem(link, fragment);

  const status = statusLine();
  show(el('h1', {}, 'A message is waiting for you'), status);
  status.textContent = 'Checking the link…';
  let member: PublicMember;
  try {
    member = (await api.post<Peeked, GrantRef>('/grants/peek', { grant_id: link.grantId() })).member;
  } catch (e) {
    return failed(e, fragment);
  }
  const open = el('button', { type: 'button', class: 'primary' }, 'Open conversation');
  open.addEventListener('click', () => {
    open.disabled = true;
    open.textContent = 'Opening…';
    void redeem(link, fragment);
  });
  show(
    el('h1', {}, `${member.display_name} wrote to you`),
    el(
      'p',
      {},
      'The conversation is end-to-end encrypted: your browser decrypts it with the key in your link. The link works once; after you open it, reloading this page keeps working for a few minutes.',
    ),
    open,
    el(
      'p',
      { class: 'hint' },
      `${member.display_name}’s key fingerprint: ${fingerprint(fromB64(member.identity_public))}`,
    ),
  );
}

async function redeem(link: Link, fragment: string): Promise<void> {
  try {
    const redeemed = await api.post<RedeemedView, GrantRef>(
      '/grants/redeem',
      { grant_id: link.grantId() },
    );
    rememberLink(fragment, true);
    const key = link.open(redeemed.conversation_id, fromB64(redeemed.wrapped_key));
    await conversationView(redeemed.conversation_id, key, redeemed.member);
  } catch (e) {
    return failed(e, fragment);
  }
}

function failed(e: unknown, fragment: string): void {
  if (e instanceof ApiError && e.code === 'link_used') {
    forgetLink();
    return deadLink(
      'This link has been used',
      'Each link opens the conversation once (and for a few minutes after). Ask for a new link: it comes by e-mail as soon as the other side is online.',
    );
  }
  if (e instanceof ApiError && e.code === 'link_expired') {
    forgetLink();
    return deadLink(
      'This link has expired',
      'Links that are not opened in time stop working. Ask for a new link: it comes by e-mail as soon as the other side is online.',
    );
  }
  if (e instanceof ApiError && e.code === 'unknown_link') {
    forgetLink();
    return deadLink(
      'This link no longer works',
      'It may be mistyped, used up a long time ago, or its conversation was deleted. If you still have a conversation, ask for a new link.',
    );
  }
  show(el('h1', {}, 'The conversation could not be opened'), retryBlock(e, () => void openPage(fragment)));
}

function deadLink(title: string, explanation: string): void {
  show(el('h1', {}, title), el('p', {}, explanation), newLinkForm());
}
