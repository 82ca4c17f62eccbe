// Settings that need the unlocked key: a new password seals the same
// private key under the new password's KEK. A member who set up his key
// with a passkey has no password: the page confirms with his passkey
// first (a fresh sign-in, as the server wants), and the same call adds one.
import { api, toB64, type OpaqueResponse, type PasswordFinish, type PasswordStart } from '../../common/api';
import { local } from './errors';
import { withHandles } from './handles';
import { registerPassword, reauthenticate } from './opaque';
import { unlocked } from './session';

export async function changePassword(arg: { current: string | null; next: string }): Promise<null> {
  const s = unlocked();
  return withHandles(async (scope) => {
    if (arg.current !== null) await reauthenticate(scope, s.handle, s.identity.publicKey, arg.current);
    const { upload, kek } = await registerPassword(scope, arg.next, (request) =>
      api.post<OpaqueResponse, PasswordStart>('/me/password/start', { request }),
    );
    let sealed: Uint8Array;
    try {
      sealed = kek.sealIdentity(s.identity);
    } catch (e) {
      throw local(e);
    }
    await api.post<null, PasswordFinish>('/me/password/finish', { upload: toB64(upload), sealed_identity: toB64(sealed) });
    return null;
  });
}
