// The page's half of passkeys: only the page can call WebAuthn (a worker
// has no navigator.credentials), so it asks the authenticator for the PRF
// output and moves that buffer to the worker at once (a transfer, not a
// copy: the page's ArrayBuffer is empty afterwards). What the page cannot
// wipe: the credential object the browser returned keeps its own copy of
// the extension results until the garbage collector takes it, and the
// browser process has the bytes too. docs/protocol.md §4.9.1 says so.
import { ApiError } from '../common/api';
import { rpc } from './client';
import type { MemberView } from './rpc';

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

/** Asks a passkey for its PRF output; `allow`: the credential to use, or any of this site's. */
async function evaluate(allow: ArrayBuffer | null): Promise<{ credentialId: ArrayBuffer; prf: ArrayBuffer }> {
  const credential = (await navigator.credentials.get({
    publicKey: {
      // The server checks no signature (the passkey unlocks, it does not
      // sign in), so the challenge is only a fresh value.
      challenge: random(32),
      rpId: location.hostname,
      userVerification: 'required',
      allowCredentials: allow ? [{ type: 'public-key', id: allow }] : [],
      extensions: { prf: { eval: { first: PRF_INPUT } } } as AuthenticationExtensionsClientInputs,
    },
  })) as PublicKeyCredential | null;
  if (!credential) throw noPrf();
  const prf = prfOf(credential);
  if (!prf) throw noPrf();
  return { credentialId: credential.rawId, prf };
}

/** Creates a passkey for this member and seals his unlocked key under it
 * (in the worker). An authenticator without PRF: `passkey_no_prf`, nothing sealed. */
export async function addPasskey(handle: string, displayName: string, label: string): Promise<void> {
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
  let answer: { credentialId: ArrayBuffer; prf: ArrayBuffer };
  const atCreation = prfOf(credential);
  if (atCreation) {
    answer = { credentialId: credential.rawId, prf: atCreation };
  } else if (outputs?.enabled) {
    // Many authenticators evaluate the PRF only when asked to sign in.
    try {
      answer = await evaluate(credential.rawId);
    } catch (e) {
      throw webauthnFailed(e);
    }
  } else {
    throw noPrf();
  }
  await rpc('passkeyAdd', { ...answer, label }, [answer.prf]);
}

/** Unlocks the key with one of this site's passkeys (the member picks). */
export async function unlockWithPasskey(): Promise<MemberView> {
  let answer: { credentialId: ArrayBuffer; prf: ArrayBuffer };
  try {
    answer = await evaluate(null);
  } catch (e) {
    throw webauthnFailed(e);
  }
  return rpc('passkeyUnlock', answer, [answer.prf]);
}

/** Whether this browser can make passkeys at all. */
export function passkeysSupported(): boolean {
  return typeof PublicKeyCredential === 'function' && !!navigator.credentials;
}
