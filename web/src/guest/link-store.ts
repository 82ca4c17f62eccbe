// Where the tab keeps its link between reloads, without keeping it in
// clear anywhere: the link's bytes are encrypted (AES-GCM) under a key made
// for this tab as a non-extractable WebCrypto key and kept in IndexedDB;
// only that ciphertext is in sessionStorage (this tab only, never sent
// anywhere). No script can read the key's bytes, only use it; deleting the
// key makes every copy of the ciphertext useless, wherever the browser put
// it (session restore, a crash dump). Each entry has an end time, and keys
// past theirs are deleted whenever a link page starts, a closed tab's
// included. See "The guest's browser" in README.md for what this does not
// protect against.
//
// The link travels in Uint8Arrays that the caller and this module wipe;
// nothing here ever holds it as a string.
import { fromB64, toB64 } from '../common/api';

const LINK = 'latchkey.guest.link';
const DATABASE = 'latchkey-guest';
const KEYS = 'link-keys';
/** A link that was only looked at is kept an hour; one that was opened, as
 * long as the server's grace window lets a reload reopen it (10 minutes by
 * default). */
const UNOPENED_MS = 60 * 60 * 1000;
const OPENED_MS = 10 * 60 * 1000;

/** What sessionStorage holds: no key, no link in clear. */
interface Entry {
  id: string;
  iv: string;
  sealed: string;
  opened: boolean;
  until: number;
}

/** What IndexedDB holds, under the entry's id. */
interface KeyRecord {
  id: string;
  key: CryptoKey;
  until: number;
}

export interface Remembered {
  /** The fragment's bytes: the caller wipes them (`fill(0)`) once parsed. */
  fragment: Uint8Array;
  opened: boolean;
}

function done<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB failed'));
  });
}

function openKeys(): Promise<IDBDatabase> {
  const request = indexedDB.open(DATABASE, 1);
  request.onupgradeneeded = () => request.result.createObjectStore(KEYS, { keyPath: 'id' });
  return done(request);
}

/** Runs `work` on the key store; the transaction is done when it resolves. */
async function withKeys<T>(mode: IDBTransactionMode, work: (keys: IDBObjectStore) => Promise<T>): Promise<T> {
  const db = await openKeys();
  try {
    const tx = db.transaction(KEYS, mode);
    const finished = new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error ?? new Error('IndexedDB failed'));
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB aborted'));
    });
    const result = await work(tx.objectStore(KEYS));
    await finished;
    return result;
  } finally {
    db.close();
  }
}

function entry(): Entry | null {
  try {
    const e = JSON.parse(sessionStorage.getItem(LINK) ?? 'null') as Partial<Entry> | null;
    if (
      e &&
      typeof e.id === 'string' &&
      typeof e.iv === 'string' &&
      typeof e.sealed === 'string' &&
      typeof e.opened === 'boolean' &&
      typeof e.until === 'number'
    ) {
      return e as Entry;
    }
  } catch {
    /* a damaged entry is forgotten below */
  }
  return null;
}

/** Binds the ciphertext to its entry, so no other entry's key opens it. */
function associated(id: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`latchkey guest link ${id}`);
}

/** Keeps an encrypted copy of `fragment` for this tab, replacing any
 * earlier one. Takes its own copy at once: the caller may wipe his. Failing
 * (no IndexedDB, a private window that refuses it) only costs the reload. */
export async function rememberLink(fragment: Uint8Array, opened: boolean): Promise<void> {
  const plain = fragment.slice();
  try {
    await sweepKeys();
    const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
    const id = toB64(crypto.getRandomValues(new Uint8Array(16)));
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = new Uint8Array(
      await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: associated(id) }, key, plain),
    );
    plain.fill(0);
    const until = Date.now() + (opened ? OPENED_MS : UNOPENED_MS);
    await forgetLink();
    await withKeys('readwrite', (keys) => done(keys.put({ id, key, until } satisfies KeyRecord)));
    const stored: Entry = { id, iv: toB64(iv), sealed: toB64(sealed), opened, until };
    sessionStorage.setItem(LINK, JSON.stringify(stored));
  } catch {
    await forgetLink().catch(() => undefined);
  } finally {
    plain.fill(0);
  }
}

/** The link kept for this tab, if it is still within its time. */
export async function storedLink(): Promise<Remembered | null> {
  const e = entry();
  try {
    await sweepKeys();
    if (!e || e.until <= Date.now()) throw new Error('nothing to use');
    const record = await withKeys('readonly', (keys) => done(keys.get(e.id) as IDBRequest<KeyRecord | undefined>));
    if (!record) throw new Error('the key is gone');
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: Uint8Array.from(fromB64(e.iv)), additionalData: associated(e.id) },
      record.key,
      Uint8Array.from(fromB64(e.sealed)),
    );
    return { fragment: new Uint8Array(plain), opened: e.opened };
  } catch {
    await forgetLink().catch(() => undefined);
    return null;
  }
}

/** After the click: a reload may reopen the link for the grace window only. */
export async function markOpened(): Promise<void> {
  const e = entry();
  if (!e) return;
  const until = Date.now() + OPENED_MS;
  sessionStorage.setItem(LINK, JSON.stringify({ ...e, opened: true, until } satisfies Entry));
  await withKeys('readwrite', async (keys) => {
    const record = await done(keys.get(e.id) as IDBRequest<KeyRecord | undefined>);
    if (record) await done(keys.put({ ...record, until } satisfies KeyRecord));
  }).catch(() => undefined);
}

/** Forgets this tab's link: the ciphertext first (synchronously), then its key. */
export async function forgetLink(): Promise<void> {
  const e = entry();
  sessionStorage.removeItem(LINK);
  if (e) await withKeys('readwrite', (keys) => done(keys.delete(e.id)));
}

/** Deletes every key past its end time, other tabs' included. */
async function sweepKeys(): Promise<void> {
  const now = Date.now();
  await withKeys('readwrite', async (keys) => {
    const all = await done(keys.getAll() as IDBRequest<KeyRecord[]>);
    await Promise.all(all.filter((r) => !(r.until > now)).map((r) => done(keys.delete(r.id))));
  });
}
