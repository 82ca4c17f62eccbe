// Recovery keys: a new one (at sign-up and in the settings) and a lost
// password replaced with one.
import { Recovery } from 'latchkey-wasm-member';
import {
  ApiError,
  api,
  call,
  fromB64,
  toB64,
  type RecoverFinish,
  type RecoverStart,
  type RecoverStarted,
} from '../../common/api';
import type { MemberView } from '../rpc';
import { local } from './errors';
import { withHandles } from './handles';
import { registerPassword, reauthenticate } from './opaque';
import { newRecoveryKey } from './recovery-key';
import { unlocked } from './session';
import { signIn } from './unlock';

/** Settings: a new recovery key replaces the old one. */
export async function newRecovery(arg: { password: string | null }): Promise<string> {
  const s = unlocked();
  return withHandles(async (scope) => {
    // null: the page has just confirmed with a passkey (no password to ask).
    if (arg.password !== null) await reauthenticate(scope, s.handle, s.identity.publicKey, arg.password);
    const fresh = newRecoveryKey(scope, s.identity);
    await call('PUT', '/me/recovery', {
      recovery_sealed_identity: toB64(fresh.sealed),
      recovery_proof: toB64(fresh.proof),
    });
    return fresh.printable;
  });
}

/**
 * A lost password: prove the recovery key, open the private key it sealed,
 * register the new password with the same private key, then sign in.
 */
export async function recover(arg: { handle: string; recoveryKey: string; next: string }): Promise<MemberView> {
  const handle = arg.handle.trim().toLowerCase();
  await withHandles(async (scope) => {
    let recovery: Recovery;
    try {
      recovery = scope.own(Recovery.parse(arg.recoveryKey));
    } catch {
      throw new ApiError(0, 'invalid_recovery_key', '');
    }
    const proof = toB64(recovery.proof());
    const { answer, upload, kek } = await registerPassword(scope, arg.next, (request) =>
      api.post<RecoverStarted, RecoverStart>('/members/recover/start', {
        handle,
        recovery_proof: proof,
        request,
      }),
    );
    let sealed: Uint8Array;
    try {
      const identity = scope.own(
        scope.own(recovery.kek()).openIdentity(fromB64(answer.recovery_sealed_identity), fromB64(answer.identity_public)),
      );
      // The same private key, sealed under the new password's KEK.
      sealed = kek.sealIdentity(identity);
    } catch (e) {
      throw local(e);
    }
    await api.post<null, RecoverFinish>('/members/recover/finish', {
      handle,
      recovery_proof: proof,
      upload: toB64(upload),
      sealed_identity: toB64(sealed),
    });
  });
  return signIn({ handle, password: arg.next });
}
