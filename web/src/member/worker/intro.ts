// The guest's introduction: the address and name his browser wrote into
// his first message. It is the guest's own claim, so it is cleaned before
// it is shown, and an address that differs from the one the server mails
// links to is shown as such.
import type { Conversation } from 'latchkey-wasm-member';
import { api, fromB64, type MessagePage, type MessageView } from '../../common/api';
import { local } from './errors';
import { withHandlesSync } from './handles';
import type { UnlockedSession } from './session';

export interface Intro {
  email: string | null;
  name: string | null;
}

export const NO_INTRO: Intro = { email: null, name: null };

/** Text a guest chose, made safe to show: no control or bidi-override
 * characters (they can make "Ann <bank@x>" look like an address), at most
 * 80 characters. */
export function tidy(text: string | null | undefined): string | null {
  if (!text) return null;
  const clean = text.replace(/[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, '').trim();
  return clean ? [...clean].slice(0, 80).join('') : null;
}

/** The address inside the introduction, if it differs from the one the
 * server sends links to: a guest's browser can write anything there. */
export function claimed(intro: Intro, delivery: string): string | null {
  const norm = (a: string) => a.trim().toLowerCase();
  return intro.email && norm(intro.email) !== norm(delivery) ? intro.email : null;
}

/** A decrypted message as plain values; the WebAssembly object is freed here. */
export function decryptMessage(key: Conversation, m: MessageView): { sentAt: number; body: string; intro: Intro | null } {
  return withHandlesSync((scope) => {
    const d = scope.own(key.decrypt(m.message_id, m.sender, fromB64(m.ciphertext)));
    const intro = d.introEmail !== undefined ? { email: tidy(d.introEmail), name: tidy(d.introName) } : null;
    return { sentAt: d.sentAt, body: d.body, intro };
  });
}

/** The guest's address and name, from the introduction in his first message. */
export async function introOf(s: UnlockedSession, id: string, sealedKey: string): Promise<Intro> {
  const known = s.intros.get(id);
  if (known) return known;
  const page = await api.get<MessagePage>(`/conversations/${id}/messages?after=0&limit=1`);
  const first = page.messages[0];
  let intro = NO_INTRO;
  if (first && first.sender === 'guest') {
    try {
      intro = decryptMessage(s.conversationKey(id, sealedKey), first).intro ?? NO_INTRO;
    } catch (e) {
      throw local(e);
    }
  }
  s.intros.set(id, intro);
  return intro;
}
