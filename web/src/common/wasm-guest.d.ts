// Types of the guest WebAssembly bundle (crates/wasm, built by
// scripts/build-wasm into target/wasm/guest/). wasm-bindgen runs with
// --no-typescript, so the part the pages use is declared here by hand.
declare module 'latchkey-wasm-guest' {
  export default function init(options: { module_or_path: string | URL }): Promise<unknown>;
  export function fingerprint(publicKey: Uint8Array): string;

  export class Link {
    static parse(fragment: string): Link;
    /** The fragment's characters as bytes; the caller wipes them after. */
    static parseBytes(fragment: Uint8Array): Link;
    grantId(): string;
    exposeFragment(): string;
    open(conversationId: string, wrapped: Uint8Array): Conversation;
    free(): void;
  }

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
    static create(): Conversation;
    readonly id: string;
    sealToMember(memberPublicKey: Uint8Array): Uint8Array;
    encrypt(
      sender: 'member' | 'guest',
      sentAt: number,
      body: string,
      introEmail?: string,
      introName?: string,
    ): EncryptedMessage;
    decrypt(messageId: string, sender: 'member' | 'guest', ciphertext: Uint8Array): DecryptedMessage;
    newGrant(): NewGrant;
    free(): void;
  }
}
