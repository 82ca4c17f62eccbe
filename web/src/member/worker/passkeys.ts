// Passkeys (docs/protocol.md §4.9.1): the PRF output the page moved here
// becomes a KEK inside this worker, bound to the member's handle and the
// credential id; it seals the unlocked identity (add) or opens the copy
// the server keeps for this passkey (unlock). The PRF bytes are wiped as
// soon as the KEK is made (Kek.fromPasskey wipes them too). Enrollment
// and sign-in with a passkey: passkey-enroll.ts, passkey-signin.ts.
import { Kek } from 'latchkey-wasm-member';
import { api, ApiError, fromB64, toB64, type AddPasskey, type PasskeyList, type PasskeyView } from '../../common/api';
import type { MemberView, PasskeyAnswer } from '../rpc';
import { local } from './errors';
import { withHandles, type HandleScope } from './handles';
import { unlock, unlocked } from './session';

/** The KEK of this passkey for `handle`; the PRF bytes are zero afterwards. */
export function passkeyKek(scope: HandleScope, answer: PasskeyAnswer, handle: string): Kek {
  const prf = new Uint8Array(answer.prf);
  try {
    return scope.own(Kek.fromPasskey(prf, handle, new Uint8Array(answer.credentialId)));
  } catch (e) {
    throw local(e);
  } finally {
    prf.fill(0);
  }
}

export function passkeyAdd(arg: PasskeyAnswer & { label: string }): Promise<null> {
  const s = unlocked();
  return withHandles(async (scope) => {
    let sealed: Uint8Array;
    try {
      sealed = passkeyKek(scope, arg, s.handle).sealIdentity(s.identity);
    } catch (e) {
      throw local(e);
    }
    await api.post<PasskeyView, AddPasskey>('/me/passkeys', {
      credential_id: toB64(new Uint8Array(arg.credentialId)),
      label: arg.label,
      sealed_identity: toB64(sealed),
    });
    return null;
  });
}

export function passkeyUnlock(arg: PasskeyAnswer): Promise<MemberView> {
  return withHandles(async (scope) => {
    try {
      const member = await api.get<MemberView>('/me');
      const id = toB64(new Uint8Array(arg.credentialId));
      const { passkeys } = await api.get<PasskeyList>('/me/passkeys');
      const stored = passkeys.find((p) => p.credential_id === id);
      // Removed, or another member's passkey: nothing here to open.
      if (!stored) throw new ApiError(0, 'unknown_passkey', '');
      const kek = passkeyKek(scope, arg, member.handle);
      const identity = scope.own(kek.openIdentity(fromB64(stored.sealed_identity), fromB64(member.identity_public)));
      unlock(member.handle, scope.release(identity));
      return member;
    } catch (e) {
      throw local(e);
    } finally {
      new Uint8Array(arg.prf).fill(0);
    }
  });
}
