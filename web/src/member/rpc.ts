// The typed RPC between the member's page and its Web Worker. The page
// sends a method name and one argument; the worker answers with a value or
// an error {status, code, message}. The password crosses this boundary (the
// page has the input field), and so does a passkey's PRF output (only the
// page can call WebAuthn; it is moved, not copied); the KEK and the private
// key never do.

import type { MemberView } from '../common/api-types';

export type { MemberView };

export interface WorkerStatus {
  unlocked: boolean;
  handle: string | null;
  /** Computed in the worker from the unsealed identity. */
  fingerprint: string | null;
}

export interface SignUpInput {
  handle: string;
  displayName: string;
  email: string;
  password: string;
  /** The site's registration code, or '' when it has none. */
  code: string;
  /** An invited member's enrollment token (from /enroll#…), in place of a code. */
  invite?: string;
}

export interface SignUpResult {
  member: MemberView;
  /** The recovery key (LKR1-…), to show once; null if the server refused to keep one. */
  recoveryKey: string;
}

export interface InboxRow {
  id: string;
  /** Where the guest's links go (from the server). */
  guestEmail: string | null;
  /** A different address named inside the guest's message, if any. */
  claimedEmail: string | null;
  guestName: string | null;
  confirmed: boolean;
  unread: number;
  lastSeq: number;
  lastActivityAt: number;
  /** The guest asked for a new link and this call sent it. */
  linkSent: boolean;
  /** Why it cannot be shown (shown as such, not hidden): 'undecryptable'
   * (not with this key), or the error code of what failed. */
  problem: string | null;
}

export interface InboxPage {
  rows: InboxRow[];
  nextBefore: string | null;
}

export interface ShownMessage {
  seq: number;
  sender: 'member' | 'guest';
  sentAt: number;
  body: string | null;
  /** 'damaged': it could not be decrypted (damaged or altered). */
  problem: 'damaged' | null;
  /** His own messages: when the guest read it (ms), if receipts are on both sides. */
  readAt?: number | undefined;
}

export interface Thread {
  id: string;
  /** Where the guest's links go (from the server). */
  guestEmail: string | null;
  /** A different address named inside the guest's message, if any. */
  claimedEmail: string | null;
  guestName: string | null;
  confirmed: boolean;
  unread: number;
  lastSeq: number;
  linkSent: boolean;
  messages: ShownMessage[];
}

export interface SendInput {
  id: string;
  body: string;
  /** "email": the server e-mails a new link; "self": the member delivers it. */
  delivery: 'email' | 'self';
}

export interface SendResult {
  seq: number;
  sentAt: number;
  notification: 'queued' | 'coalesced' | 'capped' | 'none';
  /** Only for "self": the link fragment (k1.…) to hand over. */
  fragment: string | null;
}

/** A passkey enrollment: the invited member's choices (the handle comes
 * from the server, which the invitation names) and the new passkey. */
export interface EnrollPasskeyInput {
  /** The enrollment token (from /enroll#…). */
  invite: string;
  displayName: string;
  email: string;
  /** The new passkey's name in the settings' list. */
  label: string;
}

/** A passkey's answer, moved (transferred) from the page to the worker:
 * the page keeps no copy of `prf` (see passkey.ts for what it cannot wipe). */
export interface PasskeyAnswer {
  /** The credential's raw id. */
  credentialId: ArrayBuffer;
  /** `prf.results.first`: 32 bytes, the KEK's input. */
  prf: ArrayBuffer;
}

export interface Methods {
  status: { arg: null; result: WorkerStatus };
  signUp: { arg: SignUpInput; result: SignUpResult };
  signIn: { arg: { handle: string; password: string }; result: MemberView };
  /** Frees (wipes) every key in the worker; sign-out sends it before ending the worker. */
  lock: { arg: null; result: null };
  inbox: { arg: { before: string | null }; result: InboxPage };
  fulfilAll: { arg: null; result: number };
  thread: { arg: { id: string }; result: Thread };
  send: { arg: SendInput; result: SendResult };
  /** `current` null: the page has just confirmed with a passkey (a
   * passkey-only member adds his first password this way). */
  changePassword: { arg: { current: string | null; next: string }; result: null };
  /** `password` null: the page has just confirmed with a passkey. */
  newRecovery: { arg: { password: string | null }; result: string };
  recover: { arg: { handle: string; recoveryKey: string; next: string }; result: MemberView };
  /** Seals the unlocked identity under a new passkey's KEK and stores it. */
  passkeyAdd: { arg: PasskeyAnswer & { label: string }; result: null };
  /** Unlocks the identity with a passkey of the signed-in member. */
  passkeyUnlock: { arg: PasskeyAnswer; result: MemberView };
  /** An invited member sets up his key with a new passkey (no password);
   * the key stays unlocked. */
  enrollPasskey: { arg: EnrollPasskeyInput & PasskeyAnswer; result: SignUpResult };
  /** Passkey sign-in, step 1: the ids of the member's passkeys, for the page's WebAuthn call. */
  passkeySignInStart: { arg: { handle: string }; result: { credentialIds: ArrayBuffer[] } };
  /** Step 2: opens the copy of the passkey the member used, proves the key
   * and signs in. `confirm`: a fresh sign-in for a step that wants one
   * (settings), which must open the key already unlocked here. */
  passkeySignInFinish: { arg: PasskeyAnswer & { confirm: boolean }; result: MemberView };
}

export type Method = keyof Methods;

export interface RpcRequest {
  id: number;
  method: Method;
  arg: unknown;
}

export type RpcResponse =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; status: number; code: string; message: string };
