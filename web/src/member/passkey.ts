// The page's half of passkeys: only the page can call WebAuthn (a worker
// has no navigator.credentials), so it asks the authenticator for the PRF
// output and moves that buffer to the worker at once (a transfer, not a
// copy: the page's ArrayBuffer is empty afterwards). What the page cannot
// wipe: the credential object the browser returned keeps its own copy of
// the extension results until the garbage collector takes it, and the
// browser process has the bytes too. docs/protocol.md §4.9.1 says so.
import { ApiError } from '../common/api';
import { rpc } from './client';
import type { EnrollPasskeyInput, MemberView, PasskeyAnswer, SignUpResult } from './rpc';

/** PASSKEY_PRF_INPUT of the core (docs/protocol.md §4.9.1): what the PRF
 * evaluates. The vectors' `passkey.prf_input` case holds the same bytes. */
export const PRF_INPUT = new TextEncoder().encode('latchkey/v1/passkey-prf');

interface PrfOutputs {
  enabled?: boolean;
  results?: { first?: BufferSource };
}

/** The PRF result as its own ArrayBuffer (so that moving it moves nothing else). */
function prfOf(credential: PublicKeyCredential): ArrayBuffer | null {
  const prf = (credential.getClientExtensionResults() as { prf?: PrfOutputs }).prf;
  const first = prf?.results?.first;
  if (!first) return null;
  const view = first instanceof ArrayBuffer ? new Uint8Array(first) : new Uint8Array(first.buffer, first.byteOffset, first.byteLength);
  const own = new ArrayBuffer(view.byteLength);
  new Uint8Array(own).set(view);
  view.fill(0);
  return own;
}

function noPrf(): ApiError {
  return new ApiError(0, 'passkey_no_prf', '');
}

/** WebAuthn's refusals (cancelled, timed out, no passkey) as one code. */
function webauthnFailed(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  return new ApiError(0, 'passkey_cancelled', e instanceof Error ? e.name : '');
}

function random(n: number): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(new ArrayBuffer(n)));
}

/** Asks a passkey for its PRF output; `allow`: the credentials to use, or [] for any of this site's. */
async function evaluate(allow: ArrayBuffer[], timeout?: number): Promise<PasskeyAnswer> {
  const credential = (await navigator.credentials.get({
    publicKey: {
      // The server checks no WebAuthn signature (the passkey's PRF opens
      // the key, and the key proves itself), so the challenge is only a
      // fresh value.
      challenge: random(32),
      rpId: location.hostname,
      userVerification: 'required',
      allowCredentials: allow.map((id) => ({ type: 'public-key', id })),
      extensions: { prf: { eval: { first: PRF_INPUT } } } as AuthenticationExtensionsClientInputs,
      ...(timeout === undefined ? {} : { timeout }),
    },
  })) as PublicKeyCredential | null;
  if (!credential) throw noPrf();
  const prf = prfOf(credential);
  if (!prf) throw noPrf();
  return { credentialId: credential.rawId, prf };
}

/** Makes a new passkey for `handle` and gets its PRF output. An
 * authenticator without PRF: `passkey_no_prf` (it did make a credential,
 * which no one can take back from here; nothing is sealed under it). */
async function createPasskey(handle: string, displayName: string): Promise<PasskeyAnswer> {
  let credential: PublicKeyCredential | null;
  try {
    credential = (await navigator.credentials.create({
      publicKey: {
        rp: { name: 'latchkey', id: location.hostname },
        // A random user id: the handle would tell the authenticator's
        // owner nothing new, but a random one links no two sites.
        user: { id: random(16), name: handle, displayName },
        challenge: random(32),
        pubKeyCredParams: [
          { type: 'public-key', alg: -7 },
          { type: 'public-key', alg: -257 },
        ],
        authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
        extensions: { prf: { eval: { first: PRF_INPUT } } } as AuthenticationExtensionsClientInputs,
      },
    })) as PublicKeyCredential | null;
  } catch (e) {
    throw webauthnFailed(e);
  }
  if (!credential) throw webauthnFailed(null);
  const outputs = (credential.getClientExtensionResults() as { prf?: PrfOutputs }).prf;
  const atCreation = prfOf(credential);
  if (atCreation) return { credentialId: credential.rawId, prf: atCreation };
  if (!outputs?.enabled) throw noPrf();
  // Many authenticators evaluate the PRF only when asked to sign in.
  try {
    return await evaluate([credential.rawId]);
  } catch (e) {
    throw webauthnFailed(e);
  }
}

/** Creates a passkey for this member and seals his unlocked key under it
 * (in the worker). An authenticator without PRF: `passkey_no_prf`, nothing sealed. */
export async function addPasskey(handle: string, displayName: string, label: string): Promise<void> {
  const answer = await createPasskey(handle, displayName);
  await rpc('passkeyAdd', { ...answer, label }, [answer.prf]);
}

/** An invited member's enrollment with a new passkey and no password. The
 * passkey comes first: its KEK binds the credential id, which exists only
 * once the authenticator made it. Without PRF: `passkey_no_prf`, and
 * nothing reaches the server (the invitation stays usable). */
export async function enrollWithPasskey(input: EnrollPasskeyInput & { handle: string }): Promise<SignUpResult> {
  const answer = await createPasskey(input.handle, input.displayName);
  const { invite, displayName, email, label } = input;
  return rpc('enrollPasskey', { invite, displayName, email, label, ...answer }, [answer.prf]);
}

/** Unlocks the key with one of this site's passkeys (the member picks). */
export async function unlockWithPasskey(): Promise<MemberView> {
  let answer: PasskeyAnswer;
  try {
    answer = await evaluate([]);
  } catch (e) {
    throw webauthnFailed(e);
  }
  return rpc('passkeyUnlock', answer, [answer.prf]);
}

/** The server forgets a passkey sign-in attempt after 60 seconds: the
 * prompt ends a little before, so that a slow member gets "cancelled or
 * timed out" and tries again, not a sign-in refused after his touch. */
const SIGN_IN_PROMPT_MS = 50_000;

/** Signs `handle` in with one of his passkeys (see worker/passkey-signin.ts
 * for why the server is asked first). `confirm`: the fresh sign-in a
 * settings step wants, with the key already unlocked in this tab. */
export async function signInWithPasskey(handle: string, confirm = false): Promise<MemberView> {
  const { credentialIds } = await rpc('passkeySignInStart', { handle });
  let answer: PasskeyAnswer;
  try {
    answer = await evaluate(credentialIds, SIGN_IN_PROMPT_MS);
  } catch (e) {
    throw webauthnFailed(e);
  }
  return rpc('passkeySignInFinish', { ...answer, confirm }, [answer.prf]);
}

/** Whether this browser can make passkeys at all. */
export function passkeysSupported(): boolean {
  return typeof PublicKeyCredential === 'function' && !!navigator.credentials;
}
