// Sign-up and sign-in: both end with the member's identity unlocked in
// this worker's session, which owns it from then on.
import { Identity } from 'latchkey-wasm-member';
import { api, fromB64, toB64, type RegisterFinish, type RegisterStart, type RegisterStarted } from '../../common/api';
import type { MemberView, SignUpInput, SignUpResult } from '../rpc';
import { local, loginFailed } from './errors';
import { withHandles } from './handles';
import { login, registerPassword } from './opaque';
import { newRecoveryKey } from './recovery-key';
import { unlock } from './session';

export function signIn(arg: { handle: string; password: string }): Promise<MemberView> {
  return withHandles(async (scope) => {
    const { member, kek } = await login(scope, arg.handle.trim().toLowerCase(), arg.password);
    // A password that signs in seals a copy; without one the member has none.
    if (member.sealed_identity === undefined) throw loginFailed();
    try {
      const identity = scope.own(kek.openIdentity(fromB64(member.sealed_identity), fromB64(member.identity_public)));
      unlock(member.handle, scope.release(identity));
    } catch (e) {
      throw local(e);
    }
    return member;
  });
}

export function signUp(arg: SignUpInput): Promise<SignUpResult> {
  const handle = arg.handle.trim().toLowerCase();
  // Absent, not null, when none was given.
  const code = arg.code.trim() || undefined;
  const pass = arg.invite === undefined ? {} : { invite: arg.invite };
  return withHandles(async (scope) => {
    const { answer, upload, kek } = await registerPassword(scope, arg.password, (request) =>
      api.post<RegisterStarted, RegisterStart>('/members/register/start', {
        handle,
        request,
        ...(code === undefined ? {} : { registration_code: code }),
        ...pass,
      }),
    );
    const identity = scope.own(Identity.generate());
    // Shows the server that this worker holds the key it registers (bound
    // to the server's challenge and the canonical handle).
    let proof: Uint8Array;
    try {
      proof = identity.prove(fromB64(answer.identity_challenge), handle);
    } catch (e) {
      throw local(e);
    }
    const sealed = kek.sealIdentity(identity);
    // Sign-up always makes a recovery key: without it a lost password
    // would lose every message.
    const recovery = newRecoveryKey(scope, identity);
    const member = await api.post<MemberView, RegisterFinish>('/members/register/finish', {
      handle,
      display_name: arg.displayName.trim(),
      email: arg.email.trim(),
      upload: toB64(upload),
      identity_public: toB64(identity.publicKey),
      sealed_identity: toB64(sealed),
      registration_token: answer.registration_token,
      identity_proof: toB64(proof),
      ...(code === undefined ? {} : { registration_code: code }),
      ...pass,
      recovery_sealed_identity: toB64(recovery.sealed),
      recovery_proof: toB64(recovery.proof),
    });
    unlock(member.handle, scope.release(identity));
    return { member, recoveryKey: recovery.printable };
  });
}
