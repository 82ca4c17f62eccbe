// /open#k1.…: the landing page of a link from an e-mail.
//
// The fragment never reaches the server: the page takes it out of the
// address bar before anything else, as bytes it can wipe, and keeps only an
// encrypted copy for this tab (see link-store.ts) so that a reload inside
// the grace window works. From then on the link lives in a WebAssembly
// `Link` (zeroed when freed), never in a string this page keeps. Loading
// the page changes nothing on the server; only the click on "Open
// conversation" redeems the link, so a mail scanner that fetches or even
// renders the page does not use it up.
import { fingerprint, Link, type Conversation } from 'latchkey-wasm-guest';
import { api, ApiError, fromB64, type GrantRef, type Peeked, type PublicMember, type RedeemedView } from '../common/api';
import { el, show, statusLine } from '../common/dom';
import { retryBlock } from '../common/ui';
import { conversationView } from './conversation';
import { forgetLink, markOpened, storedLink } from './link-store';
import { newLinkForm } from './newlink';

/** Reads the fragment once, as bytes, and removes it from the address bar.
 * The string the browser hands over cannot be wiped; no reference to it
 * is kept. Null when there is none. */
export function takeFragment(): Uint8Array | null {
  if (!location.hash) return null;
  const fragment = new TextEncoder().encode(location.hash.slice(1));
  history.replaceState(null, '', location.pathname);
  return fragment.length ? fragment : null;
}

/** `fromAddress`: the fragment's bytes, wiped here once parsed. */
export async function openPage(fromAddress: Uint8Array | null): Promise<void> {
  const stored = fromAddress ? null : await storedLink();
  const fragment = fromAddress ?? stored?.fragment ?? null;
  if (!fragment) {
    return deadLink(
      'This link is incomplete',
      'The part after “#” is missing. Open the link straight from the e-mail, or ask for a new one.',
    );
  }
  let link: Link;
  try {
    link = Link.parseBytes(fragment);
  } catch {
    void forgetLink().catch(() => undefined);
    return deadLink(
      'This link is damaged',
      'Part of it is missing or changed (e-mail programs sometimes break long links). Open it straight from the e-mail, or ask for a new one.',
    );
  } finally {
    fragment.fill(0);
  }
  // A reload after the click: open again without asking (grace window).
  if (stored?.opened) return redeem(link);
  return landing(link);
}

/** Who wrote, and the button that opens: the link is not used before. */
async function landing(link: Link): Promise<void> {
  const status = statusLine();
  show(el('h1', {}, 'A message is waiting for you'), status);
  status.textContent = 'Checking the link…';
  let member: PublicMember;
  try {
    member = (await api.post<Peeked, GrantRef>('/grants/peek', { grant_id: link.grantId() })).member;
  } catch (e) {
    return failed(e, link);
  }
  const open = el('button', { type: 'button', class: 'primary' }, 'Open conversation');
  open.addEventListener('click', () => {
    open.disabled = true;
    open.textContent = 'Opening…';
    void redeem(link);
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

async function redeem(link: Link): Promise<void> {
  let redeemed: RedeemedView;
  let key: Conversation;
  try {
    redeemed = await api.post<RedeemedView, GrantRef>('/grants/redeem', { grant_id: link.grantId() });
    key = link.open(redeemed.conversation_id, fromB64(redeemed.wrapped_key));
  } catch (e) {
    return failed(e, link);
  }
  // The conversation key is all this page needs now: the link's key is
  // zeroed, and only the encrypted copy stays, for reloads.
  link.free();
  await markOpened();
  await conversationView(redeemed.conversation_id, key, redeemed.member);
}

/** A dead link is freed and forgotten; any other failure offers a retry. */
function failed(e: unknown, link: Link): void {
  const dead = e instanceof ApiError && ['link_used', 'link_expired', 'unknown_link'].includes(e.code);
  if (dead) {
    link.free();
    void forgetLink().catch(() => undefined);
  }
  if (e instanceof ApiError && e.code === 'link_used') {
    return deadLink(
      'This link has been used',
      'Each link opens the conversation once (and for a few minutes after). Ask for a new link: it comes by e-mail as soon as the other side is online.',
    );
  }
  if (e instanceof ApiError && e.code === 'link_expired') {
    return deadLink(
      'This link has expired',
      'Links that are not opened in time stop working. Ask for a new link: it comes by e-mail as soon as the other side is online.',
    );
  }
  if (e instanceof ApiError && e.code === 'unknown_link') {
    return deadLink(
      'This link no longer works',
      'It may be mistyped, used up a long time ago, or its conversation was deleted. If you still have a conversation, ask for a new link.',
    );
  }
  show(el('h1', {}, 'The conversation could not be opened'), retryBlock(e, () => void landing(link)));
}

function deadLink(title: string, explanation: string): void {
  show(el('h1', {}, title), el('p', {}, explanation), newLinkForm());
}
