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
    failAll(new ApiError(0, 'worker_failed', ''));
  };
  worker = w;
  return w;
}

/** Calls the worker. Errors come back as ApiError (status 0: local or offline).
 * `transfer`: buffers moved to the worker, not copied (a passkey's PRF
 * output): afterwards they are empty here. */
export function rpc<M extends Method>(method: M, arg: Methods[M]['arg'], transfer: Transferable[] = []): Promise<Methods[M]['result']> {
  const w = start();
  const id = next++;
  return new Promise((ok, fail) => {
    waiting.set(id, { ok: ok as (value: unknown) => void, fail });
    const request: RpcRequest = { id, method, arg };
    w.postMessage(request, transfer);
  });
}

/** Ends the worker and every key in it: the worker first frees (wipes)
 * its keys, then it is terminated, after at most a second even if it is
 * busy. Calls from now on start a fresh worker. */
export function endWorker(): void {
  const w = worker;
  worker = null;
  failAll(new ApiError(0, 'locked', ''));
  if (!w) return;
  const id = next++;
  const end = (): void => {
    clearTimeout(timer);
    w.terminate();
  };
  const timer = setTimeout(end, 1000);
  w.onerror = end;
  w.onmessage = (event: MessageEvent<RpcResponse>) => {
    if (event.data.id === id) end();
  };
  const request: RpcRequest = { id, method: 'lock', arg: null };
  w.postMessage(request);
}
