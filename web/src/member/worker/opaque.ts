// OPAQUE, client side: a login that yields the password's key-encryption
// key (KEK), and a registration of a new password. Argon2id runs here, in
// the worker, off the page's thread. Every object these create belongs to
// the caller's scope, the KEK included.
import { Login, Registration, type Kek } from 'latchkey-wasm-member';
import { ApiError, api, fromB64, toB64, type LoginFinish, type LoginStart, type LoginStarted, type MemberView } from '../../common/api';
import { local, loginFailed } from './errors';
import type { HandleScope } from './handles';

/** Signs in with OPAQUE; returns the member's view and the password's KEK. */
export async function login(scope: HandleScope, handle: string, password: string): Promise<{ member: MemberView; kek: Kek }> {
  const attempt = scope.own(Login.start(password));
  const started = await api.post<LoginStarted, LoginStart>('/session/login/start', {
    handle,
    request: toB64(attempt.request),
  });
  let finalization: Uint8Array;
  let kek: Kek;
  try {
    const response = fromB64(started.response);
    // An unknown handle got a fake response: this fails the same way a
    // wrong password does.
    const result = scope.own(scope.release(attempt).finish(password, response));
    finalization = result.message;
    kek = scope.own(result.takeKek());
  } catch {
    throw loginFailed();
  }
  try {
    const member = await api.post<MemberView, LoginFinish>('/session/login/finish', {
      login_id: started.login_id,
      finalization: toB64(finalization),
    });
    return { member, kek };
  } catch (e) {
    if (e instanceof ApiError && e.code === 'login_failed') throw loginFailed();
    throw e;
  }
}

/**
 * Registers `password`: `ask` sends the blinded request (base64url) to the
 * server and returns its answer, whose `response` finishes the
 * registration. Returns that answer, the upload for the server and the new
 * password's KEK.
 */
export async function registerPassword<A extends { response: string }>(
  scope: HandleScope,
  password: string,
  ask: (request: string) => Promise<A>,
): Promise<{ answer: A; upload: Uint8Array; kek: Kek }> {
  const registration = scope.own(Registration.start(password));
  const answer = await ask(toB64(registration.request));
  try {
    const response = fromB64(answer.response);
    const result = scope.own(scope.release(registration).finish(password, response));
    return { answer, upload: result.message, kek: scope.own(result.takeKek()) };
  } catch (e) {
    throw local(e);
  }
}

/** The password and recovery steps want a sign-in under five minutes old,
 * with the key this tab has unlocked. */
export async function reauthenticate(scope: HandleScope, handle: string, publicKey: Uint8Array, password: string): Promise<void> {
  const { member, kek } = await login(scope, handle, password);
  // A password that signs in seals a copy; without one the member has none.
  if (member.sealed_identity === undefined) throw loginFailed();
  try {
    const check = scope.own(kek.openIdentity(fromB64(member.sealed_identity), fromB64(member.identity_public)));
    if (toB64(check.publicKey) !== toB64(publicKey)) {
      throw new ApiError(0, 'identity_mismatch', '');
    }
  } catch (e) {
    throw local(e);
  }
}
