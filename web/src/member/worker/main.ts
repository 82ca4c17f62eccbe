// The member's Web Worker: the only place that holds the member's private
// key (and, for the moment of a sign-in, a KEK). It loads the member
// WebAssembly bundle, runs OPAQUE (Argon2id: seconds, off the page's
// thread), and does every request that needs a key itself. The page gets
// plaintext to show, never a key. A reload ends the worker, and the key with
// it: the page then asks for the password again ("Unlock").
//
// One module per feature: unlock (sign-up, sign-in), conversations (inbox,
// thread, reply), grants (links for guests), settings, recovery and
// passkeys (adding, unlocking; enrollment and sign-in with one). Who
// frees WebAssembly objects: handles.ts.
import init from 'latchkey-wasm-member';
import { ApiError } from '../../common/api';
import type { Methods, RpcRequest, RpcResponse } from '../rpc';
import { inbox, send, thread } from './conversations';
import { local } from './errors';
import { fulfilAll } from './grants';
import { enrollPasskey } from './passkey-enroll';
import { passkeySignInFinish, passkeySignInStart } from './passkey-signin';
import { passkeyAdd, passkeyUnlock } from './passkeys';
import { recover, newRecovery } from './recovery';
import { lock, status } from './session';
import { changePassword } from './settings';
import { signIn, signUp } from './unlock';

let ready: Promise<unknown> | null = null;

function wasm(): Promise<unknown> {
  ready ??= init({ module_or_path: '/assets/member.wasm' }).catch((e: unknown) => {
    ready = null; // offline: the next call tries again
    throw new ApiError(0, 'wasm_unavailable', String(e));
  });
  return ready;
}

type Handlers = { [M in keyof Methods]: (arg: Methods[M]['arg']) => Promise<Methods[M]['result']> };

const handlers: Handlers = {
  status: () => Promise.resolve(status()),
  signUp,
  signIn,
  lock: () => {
    lock();
    return Promise.resolve(null);
  },
  inbox,
  fulfilAll,
  thread,
  send,
  changePassword,
  newRecovery,
  recover,
  passkeyAdd,
  passkeyUnlock,
  enrollPasskey,
  passkeySignInStart,
  passkeySignInFinish,
};

const scope = self as unknown as {
  onmessage: ((event: MessageEvent<RpcRequest>) => void) | null;
  postMessage(message: RpcResponse): void;
};

scope.onmessage = (event) => {
  const { id, method, arg } = event.data;
  const handler = handlers[method] as (arg: unknown) => Promise<unknown>;
  wasm()
    .then(() => handler(arg))
    .then(
      (value) => scope.postMessage({ id, ok: true, value }),
      (e: unknown) => {
        const err = local(e);
        scope.postMessage({ id, ok: false, status: err.status, code: err.code, message: err.message });
      },
    );
};
