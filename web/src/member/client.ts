// The page's side of the RPC: one Web Worker per tab, started on first use.
// Ending it (sign-out) drops the private key with it.
import { ApiError } from '../common/api';
import type { Method, Methods, RpcRequest, RpcResponse } from './rpc';

interface Waiter {
  ok: (value: unknown) => void;
  fail: (e: ApiError) => void;
}

let worker: Worker | null = null;
let next = 1;
const waiting = new Map<number, Waiter>();

function failAll(e: ApiError): void {
  for (const w of waiting.values()) w.fail(e);
  waiting.clear();
}

function start(): Worker {
  if (worker) return worker;
  const w = new Worker('/assets/member-worker.js', { type: 'module', name: 'latchkey-member' });
  w.onmessage = (event: MessageEvent<RpcResponse>) => {
    const r = event.data;
    const waiter = waiting.get(r.id);
    if (!waiter) return;
    waiting.delete(r.id);
    if (r.ok) waiter.ok(r.value);
    else waiter.fail(new ApiError(r.status, r.code, r.message));
  };
  w.onerror = (event) => {
    event.preventDefault();
    worker?.terminate();
    worker = null;
    failAll(new ApiError(0, 'offline', 'The part of this page that holds your key could not start. Check your connection and reload the page.'));
  };
  worker = w;
  return w;
}

/** Calls the worker. Errors come back as ApiError (status 0: local or offline). */
export function rpc<M extends Method>(method: M, arg: Methods[M]['arg']): Promise<Methods[M]['result']> {
  const w = start();
  const id = next++;
  return new Promise((ok, fail) => {
    waiting.set(id, { ok: ok as (value: unknown) => void, fail });
    const request: RpcRequest = { id, method, arg };
    w.postMessage(request);
  });
}

/** Ends the worker and every key in it. */
export function endWorker(): void {
  worker?.terminate();
  worker = null;
  failAll(new ApiError(0, 'locked', 'Signed out.'));
}
