// An invited member sets up his key with a passkey and no password (the
// enrollment link's other way): a new identity key, sealed under the
// passkey's KEK and under a new recovery key (his only way back if every
// passkey is lost), proved against the server's one-time challenge for the
// invited handle. The key stays unlocked here, as after sign-up.
import { Identity } from 'latchkey-wasm-member';
import { api, fromB64, toB64, type EnrollPasskey, type EnrollStart, type EnrollStarted } from '../../common/api';
import type { EnrollPasskeyInput, MemberView, PasskeyAnswer, SignUpResult } from '../rpc';
import { local } from './errors';
import { withHandles } from './handles';
import { passkeyKek } from './passkeys';
import { newRecoveryKey } from './recovery-key';
import { unlock } from './session';

export function enrollPasskey(arg: EnrollPasskeyInput & PasskeyAnswer): Promise<SignUpResult> {
  return withHandles(async (scope) => {
    try {
      // The page made the passkey first: the KEK binds its credential id,
      // which exists only once the authenticator has made it. The handle
      // it binds is the server's (the invitation names it).
      const started = await api.post<EnrollStarted, EnrollStart>('/enroll/start', { invite: arg.invite });
      const identity = scope.own(Identity.generate());
      let proof: Uint8Array;
      let sealed: Uint8Array;
      try {
        proof = identity.prove(fromB64(started.identity_challenge), started.handle);
        sealed = passkeyKek(scope, arg, started.handle).sealIdentity(identity);
      } catch (e) {
        throw local(e);
      }
      const recovery = newRecoveryKey(scope, identity);
      const member = await api.post<MemberView, EnrollPasskey>('/enroll/passkey', {
        invite: arg.invite,
        display_name: arg.displayName.trim(),
        email: arg.email.trim(),
        identity_public: toB64(identity.publicKey),
        registration_token: started.registration_token,
        identity_proof: toB64(proof),
        passkey: {
          credential_id: toB64(new Uint8Array(arg.credentialId)),
          label: arg.label,
          sealed_identity: toB64(sealed),
        },
        recovery_sealed_identity: toB64(recovery.sealed),
        recovery_proof: toB64(recovery.proof),
      });
      unlock(member.handle, scope.release(identity));
      return { member, recoveryKey: recovery.printable };
    } finally {
      // Wiped even when the server refused before the KEK was made.
      new Uint8Array(arg.prf).fill(0);
    }
  });
}
