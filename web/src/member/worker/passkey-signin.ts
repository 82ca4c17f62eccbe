// Signing in with a passkey (docs/protocol.md §4.9.2), in two calls
// because only the page can ask the authenticator: step 1 gets the
// member's passkeys and their sealed copies of his key, the page asks one
// of them for its PRF output, step 2 opens that passkey's copy here and
// proves the key against the server's one-time challenge.
//
// Step 1 comes before the authenticator, not after a prompt with an empty
// allow list (a discoverable passkey names no handle we could use: its
// user id is random): so the browser offers only this member's passkeys
// (a shared computer may hold another member's for this site), "no
// passkey here" is said before any prompt, and a security key that keeps
// no discoverable credential works too. The price is that the prompt runs
// inside the attempt's 60 seconds; the page stops it before they end.
import { api, ApiError, fromB64, toB64, type PasskeyLoginFinish, type PasskeyLoginStart, type PasskeyLoginStarted } from '../../common/api';
import type { MemberView, PasskeyAnswer } from '../rpc';
import { local, loginFailed } from './errors';
import { withHandles } from './handles';
import { passkeyKek } from './passkeys';
import { unlock, unlocked } from './session';

/** The attempt step 1 started, for step 2; one at a time (a new start replaces it). */
let pending: { handle: string; started: PasskeyLoginStarted } | null = null;

export async function passkeySignInStart(arg: { handle: string }): Promise<{ credentialIds: ArrayBuffer[] }> {
  const handle = arg.handle.trim().toLowerCase();
  pending = null;
  const started = await api.post<PasskeyLoginStarted, PasskeyLoginStart>('/session/passkey/start', { handle });
  pending = { handle, started };
  return {
    credentialIds: started.passkeys.map((p) => {
      const bytes = fromB64(p.credential_id);
      const own = new ArrayBuffer(bytes.byteLength);
      new Uint8Array(own).set(bytes);
      return own;
    }),
  };
}

export function passkeySignInFinish(arg: PasskeyAnswer & { confirm: boolean }): Promise<MemberView> {
  const attempt = pending;
  pending = null;
  return withHandles(async (scope) => {
    try {
      if (!attempt) throw loginFailed();
      const { handle, started } = attempt;
      const id = toB64(new Uint8Array(arg.credentialId));
      const copy = started.passkeys.find((p) => p.credential_id === id);
      // The authenticator answered with a passkey that is not this member's.
      if (!copy) throw new ApiError(0, 'unknown_passkey', '');
      const identity = scope.own(passkeyKek(scope, arg, handle).openIdentity(fromB64(copy.sealed_identity), fromB64(started.identity_public)));
      if (toB64(identity.publicKey) !== started.identity_public) throw new ApiError(0, 'identity_mismatch', '');
      // A confirmation must be the key this tab works with (as a password
      // re-entered in the settings must open it).
      if (arg.confirm) {
        const here = unlocked();
        if (here.handle !== handle || toB64(here.identity.publicKey) !== started.identity_public) throw new ApiError(0, 'identity_mismatch', '');
      }
      const proof = identity.prove(fromB64(started.identity_challenge), handle);
      let member: MemberView;
      try {
        member = await api.post<MemberView, PasskeyLoginFinish>('/session/passkey/finish', {
          login_id: started.login_id,
          credential_id: id,
          identity_proof: toB64(proof),
        });
      } catch (e) {
        if (e instanceof ApiError && e.code === 'login_failed') throw loginFailed();
        throw e;
      }
      // A confirmation keeps the session (its opened conversation keys, a
      // reply waiting to be sent again); a sign-in starts one.
      if (!arg.confirm) unlock(member.handle, scope.release(identity));
      return member;
    } catch (e) {
      throw local(e);
    } finally {
      new Uint8Array(arg.prf).fill(0);
    }
  });
}
