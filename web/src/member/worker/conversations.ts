// The inbox, one conversation, and a reply: everything decrypted here and
// handed to the page as text.
import {
  allMessages,
  ApiError,
  api,
  toB64,
  type ConversationPage,
  type ConversationView,
  type PostMessage,
  type PostedView,
} from '../../common/api';
import type { InboxPage, InboxRow, SendInput, SendResult, ShownMessage, Thread } from '../rpc';
import { local } from './errors';
import { fulfil, newGrant } from './grants';
import { withHandlesSync } from './handles';
import { claimed, decryptMessage, introOf, NO_INTRO, type Intro } from './intro';
import { unlocked, type PendingReply, type UnlockedSession } from './session';

async function row(s: UnlockedSession, c: ConversationView): Promise<InboxRow> {
  const out: InboxRow = {
    id: c.id,
    guestEmail: c.guest_email,
    claimedEmail: null,
    guestName: null,
    confirmed: c.confirmed,
    unread: c.unread,
    lastSeq: c.last_seq,
    lastActivityAt: c.last_activity_at,
    linkSent: false,
    problem: null,
  };
  try {
    const intro = await introOf(s, c.id, c.sealed_key);
    out.claimedEmail = claimed(intro, c.guest_email);
    out.guestName = intro.name;
    if (c.link_requested) out.linkSent = await fulfil(s, c).catch(() => false);
  } catch (e) {
    const err = local(e);
    out.problem = err.status === 0 && err.code !== 'offline' && err.code !== 'locked' ? 'undecryptable' : err.code;
  }
  return out;
}

export async function inbox(arg: { before: string | null }): Promise<InboxPage> {
  const s = unlocked();
  const query = arg.before ? `&before=${encodeURIComponent(arg.before)}` : '';
  const page = await api.get<ConversationPage>(`/conversations?limit=50${query}`);
  const rows = await Promise.all(page.conversations.map((c) => row(s, c)));
  return { rows, nextBefore: page.next_before };
}

export async function thread(arg: { id: string }): Promise<Thread> {
  const s = unlocked();
  const c = await api.get<ConversationView>(`/conversations/${arg.id}`);
  const views = await allMessages(c.id);
  const key = s.conversationKey(c.id, c.sealed_key);
  let intro: Intro = s.intros.get(c.id) ?? NO_INTRO;
  const messages: ShownMessage[] = views.map((v) => {
    try {
      const d = decryptMessage(key, v);
      if (v.seq === views[0]?.seq && v.sender === 'guest' && d.intro) {
        intro = d.intro;
        s.intros.set(c.id, intro);
      }
      return { seq: v.seq, sender: v.sender, sentAt: d.sentAt, body: d.body, problem: null, readAt: v.read_at };
    } catch {
      return {
        seq: v.seq,
        sender: v.sender,
        sentAt: v.created_at,
        body: null,
        problem: 'damaged',
        readAt: v.read_at,
      };
    }
  });
  const linkSent = c.link_requested ? await fulfil(s, c).catch(() => false) : false;
  return {
    id: c.id,
    guestEmail: c.guest_email,
    claimedEmail: claimed(intro, c.guest_email),
    guestName: intro.name,
    confirmed: c.confirmed,
    unread: c.unread,
    lastSeq: c.last_seq,
    linkSent,
    messages,
  };
}

/** The reply encrypted, with its new link: made once per text, so that a
 * retry after a lost answer uploads the same bytes. */
async function encryptedReply(s: UnlockedSession, arg: SendInput, token: string): Promise<PendingReply> {
  const ready = s.pending.get(token);
  if (ready) return ready;
  let key = s.knownKey(arg.id);
  if (!key) {
    const c = await api.get<ConversationView>(`/conversations/${arg.id}`);
    key = s.conversationKey(c.id, c.sealed_key);
  }
  const sentAt = Date.now();
  const encrypted = withHandlesSync((scope) => {
    const e = scope.own(key.encrypt('member', sentAt, arg.body));
    return { messageId: e.messageId, ciphertext: toB64(e.ciphertext) };
  });
  const reply = { ...encrypted, ...newGrant(key), sentAt };
  s.pending.set(token, reply);
  return reply;
}

export async function send(arg: SendInput): Promise<SendResult> {
  const s = unlocked();
  const token = `${arg.id}\n${arg.delivery}\n${arg.body}`;
  const p = await encryptedReply(s, arg, token);
  const body: PostMessage = {
    message_id: p.messageId,
    ciphertext: p.ciphertext,
    grant: { grant_id: p.grantId, wrapped_key: p.wrapped },
  };
  // Only for "email": the server sees this link key (it must, to mail it).
  if (arg.delivery === 'email') body.link = p.fragment;
  let posted: PostedView;
  try {
    posted = await api.post<PostedView, PostMessage>(`/conversations/${arg.id}/messages`, body);
  } catch (e) {
    // Keep the bytes for a retry only where a retry can help.
    if (!(e instanceof ApiError && (e.status === 0 || e.status === 429 || e.status >= 500))) s.pending.delete(token);
    throw e;
  }
  s.pending.delete(token);
  return {
    seq: posted.seq,
    sentAt: p.sentAt,
    notification: posted.notification,
    fragment: arg.delivery === 'self' ? p.fragment : null,
  };
}
