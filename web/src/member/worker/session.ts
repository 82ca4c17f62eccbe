// The unlocked session: the member's identity (private key) and the
// conversation keys opened with it. It owns these WebAssembly objects and
// lock() frees every one (sign-out, another sign-in). Code that awaits
// asks the session for a key again after the await instead of holding one
// across it: the session may have been locked meanwhile, and a freed key
// must fail as "locked", not as a WebAssembly error.
import type { Conversation, Identity } from 'latchkey-wasm-member';
import { fromB64 } from '../../common/api';
import type { WorkerStatus } from '../rpc';
import { local, locked } from './errors';
import { HandleScope } from './handles';
import type { Intro } from './intro';

/** An encrypted reply whose upload failed: a retry sends the same bytes (idempotent). */
export interface PendingReply {
  messageId: string;
  ciphertext: string;
  grantId: string;
  wrapped: string;
  fragment: string;
  sentAt: number;
}

export class UnlockedSession {
  #identity: Identity | null;
  readonly #keys = new Map<string, Conversation>();
  /** Guests' introductions, decrypted once per session. */
  readonly intros = new Map<string, Intro>();
  readonly pending = new Map<string, PendingReply>();
  /** Link requests being answered, so that two callers never send two links. */
  readonly fulfilling = new Map<string, Promise<boolean>>();

  constructor(
    readonly handle: string,
    identity: Identity,
  ) {
    this.#identity = identity;
  }

  get identity(): Identity {
    if (!this.#identity) throw locked();
    return this.#identity;
  }

  /** The key of conversation `id`, opened from its sealed form on first use. */
  conversationKey(id: string, sealedKey: string): Conversation {
    const known = this.knownKey(id);
    if (known) return known;
    let key: Conversation;
    try {
      key = this.identity.openConversation(id, fromB64(sealedKey));
    } catch (e) {
      throw local(e);
    }
    this.#keys.set(id, key);
    return key;
  }

  /** The key of conversation `id` if it was opened already. */
  knownKey(id: string): Conversation | undefined {
    if (!this.#identity) throw locked();
    return this.#keys.get(id);
  }

  /** Frees every key this session holds. */
  clear(): void {
    const owned = [...this.#keys.values(), ...(this.#identity ? [this.#identity] : [])];
    this.#keys.clear();
    this.#identity = null;
    this.intros.clear();
    this.pending.clear();
    const scope = new HandleScope();
    for (const handle of owned) scope.own(handle);
    scope.end();
  }
}

let current: UnlockedSession | null = null;

/** Starts a session that owns `identity` from now on. */
export function unlock(handle: string, identity: Identity): UnlockedSession {
  lock();
  current = new UnlockedSession(handle, identity);
  return current;
}

export function lock(): void {
  current?.clear();
  current = null;
}

export function unlocked(): UnlockedSession {
  if (!current) throw locked();
  return current;
}

export function status(): WorkerStatus {
  return {
    unlocked: current !== null,
    handle: current?.handle ?? null,
    fingerprint: current?.identity.fingerprint ?? null,
  };
}
