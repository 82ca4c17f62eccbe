// Types of the member WebAssembly bundle (crates/wasm with feature
// "member", built by scripts/build-wasm into target/wasm/member/). Only the
// member's Web Worker loads it. Declared by hand (wasm-bindgen runs with
// --no-typescript): the guest part plus identity, KEK, recovery and OPAQUE.
declare module 'latchkey-wasm-member' {
  export default function init(options: { module_or_path: string | URL }): Promise<unknown>;
  export function fingerprint(publicKey: Uint8Array): string;

  export class NewGrant {
    grantId(): string;
    exposeFragment(): string;
    readonly wrapped: Uint8Array;
    free(): void;
  }

  export class EncryptedMessage {
    readonly messageId: string;
    readonly ciphertext: Uint8Array;
    free(): void;
  }

  export class DecryptedMessage {
    readonly sentAt: number;
    readonly body: string;
    readonly introEmail: string | undefined;
    readonly introName: string | undefined;
    free(): void;
  }

  export class Conversation {
    readonly id: string;
    encrypt(sender: 'member' | 'guest', sentAt: number, body: string): EncryptedMessage;
    decrypt(messageId: string, sender: 'member' | 'guest', ciphertext: Uint8Array): DecryptedMessage;
    newGrant(): NewGrant;
    free(): void;
  }

  export class Identity {
    static generate(): Identity;
    readonly publicKey: Uint8Array;
    readonly fingerprint: string;
    openConversation(conversationId: string, sealedKey: Uint8Array): Conversation;
    free(): void;
  }

  export class Kek {
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
