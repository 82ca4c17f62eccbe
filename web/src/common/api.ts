// The JSON API (/api/v1). Errors arrive as {error, message}; a request
// that never reached the server becomes the code "offline". The request and
// response types are generated from the Rust contract crate (api-types.ts):
// every call names both, so the compiler checks what is sent and read.
import type { ErrorCode, MessagePage, MessageView } from './api-types';

export type * from './api-types';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    /** The server's `ErrorCode`, or one of the page's and the core's own. */
    readonly code: string,
    message: string,
    /** From `Retry-After`, for a refusal over a budget. */
    readonly retryAfterSecs: number | null = null,
  ) {
    super(message);
  }
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    const init: RequestInit = { method, credentials: 'same-origin', headers: {} };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'content-type': 'application/json' };
    }
    // A hung connection must end in words, not an endless "Loading…".
    init.signal = AbortSignal.timeout(30_000);
    response = await fetch(`/api/v1${path}`, init);
  } catch {
    throw new ApiError(0, 'offline', 'The server cannot be reached. Check your connection and try again.');
  }
  const text = await response.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const e = data as { error?: ErrorCode; message?: string } | null;
    throw new ApiError(
      response.status,
      e?.error ?? 'unexpected',
      e?.message ?? `The server answered ${response.status}. Try again later.`,
      retryAfter(response.headers.get('retry-after')),
    );
  }
  return data as T;
}

/** `Retry-After` in seconds (the server sends seconds, never a date). */
function retryAfter(header: string | null): number | null {
  const secs = header === null ? NaN : Number(header);
  return Number.isFinite(secs) && secs >= 0 ? Math.ceil(secs) : null;
}

/**
 * `Res` is the answer's type (`null` for 204); `Req`, the body's, must be
 * named: left out, it is `never` and no body fits.
 */
export const api = {
  get: <Res>(path: string) => call<Res>('GET', path),
  post: <Res, Req = never>(path: string, body: NoInfer<Req>) => call<Res>('POST', path, body),
  del: (path: string) => call<null>('DELETE', path),
};

/** Bytes as unpadded base64url, the API's encoding. */
export function toB64(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromB64(text: string): Uint8Array {
  const padded = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(padded + '='.repeat((4 - (padded.length % 4)) % 4));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Every message of a conversation, page by page. */
export async function allMessages(conversationId: string): Promise<MessageView[]> {
  const out: MessageView[] = [];
  let cursor: number | null = 0;
  while (cursor !== null) {
    const page: MessagePage = await api.get<MessagePage>(
      `/conversations/${conversationId}/messages?after=${cursor}&limit=200`,
    );
    out.push(...page.messages);
    cursor = page.next_after;
  }
  return out;
}
