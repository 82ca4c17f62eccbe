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
// nothing here ever holds it as a string. Once the link is opened, the
// guest's address is sealed the same way beside it: the server asks for it
// again on every redeem (a mail scanner does not know it), so a reload needs
// it too, and it goes when the link goes.
import { fromB64, toB64 } from '../common/api';

const LINK = 'latchkey.guest.link';
const DATABASE = 'latchkey-guest';
const KEYS = 'link-keys';
/** A link that was only looked at is kept an hour; one that was opened, as
 * long as the server's grace window lets a reload reopen it (10 minutes by
 * default). */
const UNOPENED_MS = 60 * 60 * 1000;
const OPENED_MS = 10 * 60 * 1000;

/** An AES-GCM ciphertext and its nonce, base64url. */
interface Sealed {
  iv: string;
  sealed: string;
}

/** What sessionStorage holds: no key, no link or address in clear. */
interface Entry extends Sealed {
  id: string;
  opened: boolean;
  until: number;
  /** The guest's address, once the link is opened with it. */
  address?: Sealed;
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
  /** The address the link was opened with; null before that. */
  email: string | null;
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

function isSealed(s: Partial<Sealed> | null | undefined): boolean {
  return !!s && typeof s.iv === 'string' && typeof s.sealed === 'string';
}

function entry(): Entry | null {
  try {
    const e = JSON.parse(sessionStorage.getItem(LINK) ?? 'null') as Partial<Entry> | null;
    if (
      e &&
      typeof e.id === 'string' &&
      isSealed(e) &&
      typeof e.opened === 'boolean' &&
      typeof e.until === 'number' &&
      (e.address === undefined || isSealed(e.address))
    ) {
      return e as Entry;
    }
  } catch {
    /* a damaged entry is forgotten below */
  }
  return null;
}

/** Binds a ciphertext to its entry and its role, so no other entry's key
 * opens it and the address cannot pass for the link or the other way. */
function associated(id: string, what: 'link' | 'address' = 'link'): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`latchkey guest ${what} ${id}`);
}

async function seal(key: CryptoKey, id: string, what: 'link' | 'address', plain: Uint8Array<ArrayBuffer>): Promise<Sealed> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: associated(id, what) }, key, plain),
  );
  return { iv: toB64(iv), sealed: toB64(sealed) };
}

async function unseal(key: CryptoKey, id: string, what: 'link' | 'address', s: Sealed): Promise<Uint8Array> {
  const plain = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: Uint8Array.from(fromB64(s.iv)), additionalData: associated(id, what) },
    key,
    Uint8Array.from(fromB64(s.sealed)),
  );
  return new Uint8Array(plain);
}

function keyOf(e: Entry): Promise<CryptoKey> {
  return withKeys('readonly', (keys) => done(keys.get(e.id) as IDBRequest<KeyRecord | undefined>)).then((record) => {
    if (!record) throw new Error('the key is gone');
    return record.key;
  });
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
    const sealed = await seal(key, id, 'link', plain);
    plain.fill(0);
    const until = Date.now() + (opened ? OPENED_MS : UNOPENED_MS);
    await forgetLink();
    await withKeys('readwrite', (keys) => done(keys.put({ id, key, until } satisfies KeyRecord)));
    const stored: Entry = { id, ...sealed, opened, until };
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
    const key = await keyOf(e);
    const fragment = await unseal(key, e.id, 'link', e);
    // An address that no longer opens only costs typing it again.
    const email = e.address
      ? await unseal(key, e.id, 'address', e.address).then(
          (bytes) => new TextDecoder().decode(bytes),
          () => null,
        )
      : null;
    return { fragment, opened: e.opened, email };
  } catch {
    await forgetLink().catch(() => undefined);
    return null;
  }
}

/** After the link opened with `email`: a reload may reopen it, with the
 * same address, for the grace window only. */
export async function markOpened(email: string): Promise<void> {
  const e = entry();
  if (!e) return;
  const until = Date.now() + OPENED_MS;
  const address = await keyOf(e)
    .then((key) => seal(key, e.id, 'address', new TextEncoder().encode(email)))
    .catch(() => null);
  const opened: Entry = { ...e, opened: true, until };
  if (address) opened.address = address;
  sessionStorage.setItem(LINK, JSON.stringify(opened));
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
