// Links for guests: each is a new grant on the conversation. A reply
// carries one; a guest who asks for a new link gets one while the member
// is signed in (the inbox, a conversation, or every minute).
import type { Conversation } from 'latchkey-wasm-member';
import { api, toB64, type AddGrant, type ConversationPage, type ConversationView, type GrantAdded } from '../../common/api';
import { withHandlesSync } from './handles';
import { unlocked, type UnlockedSession } from './session';

/** A new grant as plain values. `fragment` is the link key (k1.…): it goes
 * to the server only when the server is to e-mail it. */
export interface GrantMaterial {
  grantId: string;
  wrapped: string;
  fragment: string;
}

export function newGrant(key: Conversation): GrantMaterial {
  return withHandlesSync((scope) => {
    const grant = scope.own(key.newGrant());
    return { grantId: grant.grantId(), wrapped: toB64(grant.wrapped), fragment: grant.exposeFragment() };
  });
}

/** Answers a guest's request for a new link: a new grant, e-mailed by the
 * server. Says whether a mail went out. */
export function fulfil(s: UnlockedSession, c: ConversationView): Promise<boolean> {
  const running = s.fulfilling.get(c.id);
  if (running) return running;
  const job = (async () => {
    const grant = newGrant(s.conversationKey(c.id, c.sealed_key));
    // Only if the request is still pending: another tab or device may
    // have answered it already, and the guest should get one link.
    const added = await api.post<GrantAdded, AddGrant>(`/conversations/${c.id}/grants`, {
      grant_id: grant.grantId,
      wrapped_key: grant.wrapped,
      link: grant.fragment,
      answers_request: true,
    });
    return added.notification === 'queued';
  })();
  s.fulfilling.set(c.id, job);
  void job.finally(() => s.fulfilling.delete(c.id)).catch(() => undefined);
  return job;
}

/** Answers every pending new-link request (run now and then while signed in). */
export async function fulfilAll(): Promise<number> {
  const s = unlocked();
  let before: string | null = null;
  let sent = 0;
  for (let pages = 0; pages < 10; pages++) {
    const query: string = before ? `&before=${encodeURIComponent(before)}` : '';
    const page = await api.get<ConversationPage>(`/conversations?limit=200${query}`);
    for (const c of page.conversations) {
      if (!c.link_requested) continue;
      try {
        if (await fulfil(s, c)) sent++;
      } catch {
        // One broken conversation does not stop the others.
      }
    }
    before = page.next_before;
    if (!before) break;
  }
  return sent;
}
