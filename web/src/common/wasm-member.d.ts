// Types of the member WebAssembly bundle (crates/wasm with feature
// "member", built by scripts/build-wasm into target/wasm/member/). Only the
// member's Web Worker loads it. Declared by hand (wasm-bindgen runs with
// --no-typescript): the guest part plus identity, KEK, recovery and OPAQUE.
declare module 'latchkey-wasm-member' {
  export default function init(options: { module_or_path: string | URL }): Promise<unknown>;
  // The member bundle contains the guest bundle's whole API.
  import type { Conversation } from 'latchkey-wasm-guest';
  export { fingerprint, Conversation, DecryptedMessage, EncryptedMessage, Link, NewGrant } from 'latchkey-wasm-guest';

  export class Identity {
    static generate(): Identity;
    readonly publicKey: Uint8Array;
    readonly fingerprint: string;
    /** Registration's proof of holding this key (32 bytes); `handle` trimmed and lower-case. */
    prove(challenge: Uint8Array, handle: string): Uint8Array;
    openConversation(conversationId: string, sealedKey: Uint8Array): Conversation;
    free(): void;
  }

  /** The input the page asks a passkey's PRF to evaluate (docs/protocol.md §4.9.1). */
  export function passkeyPrfInput(): Uint8Array;

  export class Kek {
    /** A passkey's KEK; wipes `prf` (32 bytes) in place. Throws "malformed: …" on bad lengths. */
    static fromPasskey(prf: Uint8Array, handle: string, credentialId: Uint8Array): Kek;
    sealIdentity(identity: Identity): Uint8Array;
    openIdentity(sealed: Uint8Array, publicKey: Uint8Array): Identity;
    free(): void;
  }

  export class Recovery {
    static generate(): Recovery;
    static parse(text: string): Recovery;
    exposePrintable(): string;
    kek(): Kek;
    proof(): Uint8Array;
    free(): void;
  }

  export class PasswordResult {
    readonly message: Uint8Array;
    takeKek(): Kek;
    free(): void;
  }

  export class Registration {
    static start(password: string): Registration;
    readonly request: Uint8Array;
    /** Consumes this object (Argon2id: seconds on a slow phone). */
    finish(password: string, response: Uint8Array): PasswordResult;
    free(): void;
  }

  export class Login {
    static start(password: string): Login;
    readonly request: Uint8Array;
    /** Consumes this object; throws "login_failed: …" on a wrong password. */
    finish(password: string, response: Uint8Array): PasswordResult;
    free(): void;
  }
}
