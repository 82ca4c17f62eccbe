// The errors the worker hands to the page: always an ApiError, so that the
// RPC can carry {status, code, message}. The page puts the code in words,
// in its language (common/ui.ts); the worker's own errors carry no sentence. Status 0 means "happened here, in
// this browser" (a WebAssembly error, a locked key, no network).
import { ApiError } from '../../common/api';

/** A WebAssembly error ("code: text") or anything else thrown, as an ApiError. */
export function local(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  const text = e instanceof Error ? e.message : String(e);
  const m = /^([a-z_]+): (.*)$/s.exec(text);
  return new ApiError(0, m?.[1] ?? 'internal', m?.[2] ?? text);
}

/** One answer for a wrong password and an unknown handle: no oracle. */
export function loginFailed(): ApiError {
  return new ApiError(401, 'login_failed', '');
}

export function locked(): ApiError {
  return new ApiError(0, 'locked', '');
}
