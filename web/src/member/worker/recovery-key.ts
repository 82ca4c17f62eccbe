// A new recovery key: the identity sealed under the key's KEK and the
// proof the server checks, for the server; the printable key, for the
// member's eyes only (shown once).
import { Recovery, type Identity } from 'latchkey-wasm-member';
import type { HandleScope } from './handles';

/** A new recovery key for `identity`: what the server keeps, and the key to show once. */
export function newRecoveryKey(scope: HandleScope, identity: Identity): { sealed: Uint8Array; proof: Uint8Array; printable: string } {
  const recovery = scope.own(Recovery.generate());
  const sealed = scope.own(recovery.kek()).sealIdentity(identity);
  return { sealed, proof: recovery.proof(), printable: recovery.exposePrintable() };
}
