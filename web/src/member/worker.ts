// The member's Web Worker: the only place that holds the member's private
// key (and, for the moment of a sign-in, a KEK). It loads the member
// WebAssembly bundle, runs OPAQUE (Argon2id: seconds, off the page's
// thread), and does every request that needs a key itself. The page gets
// plaintext to show, never a key. A reload ends the worker, and the key with
// it: the page then asks for the password again ("Unlock").
import init, { Identity, Login, Recovery, Registration, type Conversation, type Kek } from 'latchkey-wasm-member';
import { allMessages, ApiError, api, call, fromB64, toB64, type MessagePage } from '../common/api';
import type {
  InboxPage,
  InboxRow,
  MemberView,
  Methods,
  RpcRequest,
  RpcResponse,
  SendInput,
  SendResult,
  ShownMessage,
  SignUpInput,
  SignUpResult,
  Thread,
  WorkerStatus,
} from './rpc';

interface ConversationView {
  id: string;
  sealed_key: string;
  /** Where the guest's links go: the address `confirmed` is about. */
  guest_email: string;
  confirmed: boolean;
  last_seq: number;
  unread: number;
  link_requested: boolean;
  created_at: number;
  last_activity_at: number;
}

interface Intro {
  email: string | null;
  name: string | null;
}

interface Pending {
  messageId: string;
  ciphertext: string;
  grantId: string;
  wrapped: string;
  fragment: string;
  sentAt: number;
}

interface Session {
  handle: string;
  identity: Identity;
  keys: Map<string, Conversation>;
  intros: Map<string, Intro>;
  /** Encrypted replies whose upload failed: a retry sends the same bytes (idempotent). */
  pending: Map<string, Pending>;
  /** Link requests being answered, so that two callers never send two links. */
  fulfilling: Map<string, Promise<boolean>>;
}

let session: Session | null = null;
let ready: Promise<unknown> | null = null;

function wasm(): Promise<unknown> {
  ready ??= init({ module_or_path: '/assets/member.wasm' }).catch((e: unknown) => {
    ready = null; // offline: the next call tries again
    throw new ApiError(0, 'offline', `The code for your keys could not be loaded (${String(e)}). Check your connection and try again.`);
  });
  return ready;
}

const LOGIN_FAILED = 'The handle or the password is wrong.';

function loginFailed(): ApiError {
  return new ApiError(401, 'login_failed', LOGIN_FAILED);
}

/** A WebAssembly error ("code: text") as an ApiError with status 0. */
function local(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  const text = e instanceof Error ? e.message : String(e);
  const m = /^([a-z_]+): (.*)$/s.exec(text);
  return new ApiError(0, m?.[1] ?? 'internal', m?.[2] ?? text);
}

function need(): Session {
  if (!session) throw new ApiError(0, 'locked', 'Your key is not unlocked in this tab. Enter your password again.');
  return session;
}

function forget(): void {
  if (!session) return;
  for (const key of session.keys.values()) key.free();
  session.identity.free();
  session = null;
}

function begin(handle: string, identity: Identity): void {
  forget();
  session = {
    handle,
    identity,
    keys: new Map(),
    intros: new Map(),
    pending: new Map(),
    fulfilling: new Map(),
  };
}

/** OPAQUE login; returns the member's view and the password's KEK. */
async function login(handle: string, password: string): Promise<{ member: MemberView; kek: Kek }> {
  const attempt = Login.start(password);
  let started: { login_id: string; response: string };
  try {
    started = await api.post('/session/login/start', { handle, request: toB64(attempt.request) });
  } catch (e) {
    attempt.free();
    throw e;
  }
  let response: Uint8Array;
  try {
    response = fromB64(started.response);
  } catch {
    attempt.free();
    throw loginFailed();
  }
  let finalization: Uint8Array;
  let kek: Kek;
  try {
    // Consumes `attempt`. An unknown handle got a fake response: this
    // fails the same way a wrong password does.
    const result = attempt.finish(password, response);
    finalization = result.message;
    kek = result.takeKek();
    result.free();
  } catch {
    throw loginFailed();
  }
  try {
    const member = await api.post<MemberView>('/session/login/finish', {
      login_id: started.login_id,
      finalization: toB64(finalization),
    });
    return { member, kek };
  } catch (e) {
    kek.free();
    if (e instanceof ApiError && e.code === 'login_failed') throw loginFailed();
    throw e;
  }
}

async function signIn(arg: { handle: string; password: string }): Promise<MemberView> {
  const { member, kek } = await login(arg.handle.trim().toLowerCase(), arg.password);
  try {
    const identity = kek.openIdentity(fromB64(member.sealed_identity), fromB64(member.identity_public));
    begin(member.handle, identity);
    return member;
  } catch (e) {
    throw local(e);
  } finally {
    kek.free();
  }
}

async function signUp(arg: SignUpInput): Promise<SignUpResult> {
  const handle = arg.handle.trim().toLowerCase();
  const registration = Registration.start(arg.password);
  let response: string;
  try {
    ({ response } = await api.post<{ response: string }>('/members/register/start', {
      handle,
      request: toB64(registration.request),
      registration_code: arg.code.trim() || null,
    }));
  } catch (e) {
    registration.free();
    throw e;
  }
  let upload: Uint8Array;
  let kek: Kek;
  try {
    const result = registration.finish(arg.password, fromB64(response));
    upload = result.message;
    kek = result.takeKek();
    result.free();
  } catch (e) {
    throw local(e);
  }
  const identity = Identity.generate();
  const sealed = kek.sealIdentity(identity);
  kek.free();
  const recovery = Recovery.generate();
  const recoveryKek = recovery.kek();
  const recoverySealed = recoveryKek.sealIdentity(identity);
  recoveryKek.free();
  const proof = recovery.proof();
  const recoveryKey = recovery.exposePrintable();
  recovery.free();
  const body = {
    handle,
    display_name: arg.displayName.trim(),
    email: arg.email.trim(),
    upload: toB64(upload),
    identity_public: toB64(identity.publicKey),
    sealed_identity: toB64(sealed),
  };
  let member: MemberView;
  try {
    member = await api.post<MemberView>('/members/register/finish', {
      ...body,
      registration_code: arg.code.trim() || null,
      recovery_sealed_identity: toB64(recoverySealed),
      recovery_proof: toB64(proof),
    });
  } catch (e) {
    identity.free();
    throw e;
  }
  begin(member.handle, identity);
  return { member, recoveryKey };
}

function status(): WorkerStatus {
  return {
    unlocked: session !== null,
    handle: session?.handle ?? null,
    fingerprint: session?.identity.fingerprint ?? null,
  };
}

function keyFor(s: Session, id: string, sealedKey: string): Conversation {
  let key = s.keys.get(id);
  if (!key) {
    try {
      key = s.identity.openConversation(id, fromB64(sealedKey));
    } catch (e) {
      throw local(e);
    }
    s.keys.set(id, key);
  }
  return key;
}

/** Text a guest chose, made safe to show: no control or bidi-override
 * characters (they can make "Ann <bank@x>" look like an address), at most
 * 80 characters. */
function tidy(text: string | null | undefined): string | null {
  if (!text) return null;
  const clean = text.replace(/[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, '').trim();
  return clean ? [...clean].slice(0, 80).join('') : null;
}

function decryptIntro(key: Conversation, m: MessagePage['messages'][number]): Intro {
  const d = key.decrypt(m.message_id, m.sender, fromB64(m.ciphertext));
  const intro = { email: tidy(d.introEmail), name: tidy(d.introName) };
  d.free();
  return intro;
}

/** The address inside the introduction, if it differs from the one the
 * server sends links to: a guest's browser can write anything there. */
function claimed(intro: Intro, delivery: string): string | null {
  const norm = (a: string) => a.trim().toLowerCase();
  return intro.email && norm(intro.email) !== norm(delivery) ? intro.email : null;
}

/** The guest's address and name, from the introduction in his first message. */
async function introOf(s: Session, id: string, key: Conversation): Promise<Intro> {
  const known = s.intros.get(id);
  if (known) return known;
  const page = await api.get<MessagePage>(`/conversations/${id}/messages?after=0&limit=1`);
  const first = page.messages[0];
  let intro: Intro = { email: null, name: null };
  if (first && first.sender === 'guest') {
    try {
      intro = decryptIntro(key, first);
    } catch (e) {
      throw local(e);
    }
  }
  s.intros.set(id, intro);
  return intro;
}

/** Answers a guest's request for a new link: a new grant, e-mailed by the server. */
function fulfil(s: Session, id: string, key: Conversation): Promise<boolean> {
  const running = s.fulfilling.get(id);
  if (running) return running;
  const job = (async () => {
    const grant = key.newGrant();
    try {
      // Only if the request is still pending: another tab or device may
      // have answered it already, and the guest should get one link.
      const added = await api.post<{ notification: string }>(`/conversations/${id}/grants`, {
        grant_id: grant.grantId(),
        wrapped_key: toB64(grant.wrapped),
        link: grant.exposeFragment(),
        answers_request: true,
      });
      return added.notification === 'queued';
    } finally {
      grant.free();
    }
  })();
  s.fulfilling.set(id, job);
  void job.finally(() => s.fulfilling.delete(id)).catch(() => undefined);
  return job;
}

async function row(s: Session, c: ConversationView): Promise<InboxRow> {
  const out: InboxRow = {
    id: c.id,
    guestEmail: c.guest_email,
    claimedEmail: null,
    guestName: null,
    confirmed: c.confirmed,
    unread: c.unread,
    lastSeq: c.last_seq,
    lastActivityAt: c.last_activity_at,
    linkSent: false,
    problem: null,
  };
  try {
    const key = keyFor(s, c.id, c.sealed_key);
    const intro = await introOf(s, c.id, key);
    out.claimedEmail = claimed(intro, c.guest_email);
    out.guestName = intro.name;
    if (c.link_requested) out.linkSent = await fulfil(s, c.id, key).catch(() => false);
  } catch (e) {
    const err = local(e);
    out.problem =
      err.status === 0 && err.code !== 'offline'
        ? 'This conversation could not be decrypted with your key.'
        : err.message;
  }
  return out;
}

async function inbox(arg: { before: string | null }): Promise<InboxPage> {
  const s = need();
  const query = arg.before ? `&before=${encodeURIComponent(arg.before)}` : '';
  const page = await api.get<{ conversations: ConversationView[]; next_before: string | null }>(
    `/conversations?limit=50${query}`,
  );
  const rows = await Promise.all(page.conversations.map((c) => row(s, c)));
  return { rows, nextBefore: page.next_before };
}

/** Answers every pending new-link request (run now and then while signed in). */
async function fulfilAll(): Promise<number> {
  const s = need();
  let before: string | null = null;
  let sent = 0;
  for (let pages = 0; pages < 10; pages++) {
    const query: string = before ? `&before=${encodeURIComponent(before)}` : '';
    const page: { conversations: ConversationView[]; next_before: string | null } = await api.get(
      `/conversations?limit=200${query}`,
    );
    for (const c of page.conversations) {
      if (!c.link_requested) continue;
      try {
        if (await fulfil(s, c.id, keyFor(s, c.id, c.sealed_key))) sent++;
      } catch {
        // One broken conversation does not stop the others.
      }
    }
    before = page.next_before;
    if (!before) break;
  }
  return sent;
}

async function thread(arg: { id: string }): Promise<Thread> {
  const s = need();
  const c = await api.get<ConversationView>(`/conversations/${arg.id}`);
  const key = keyFor(s, c.id, c.sealed_key);
  const views = await allMessages(c.id);
  let intro: Intro = s.intros.get(c.id) ?? { email: null, name: null };
  const messages: ShownMessage[] = views.map((v) => {
    try {
      const d = key.decrypt(v.message_id, v.sender, fromB64(v.ciphertext));
      if (v.seq === views[0]?.seq && v.sender === 'guest' && d.introEmail !== undefined) {
        intro = { email: tidy(d.introEmail), name: tidy(d.introName) };
        s.intros.set(c.id, intro);
      }
      const shown = { seq: v.seq, sender: v.sender, sentAt: d.sentAt, body: d.body, problem: null };
      d.free();
      return shown;
    } catch {
      return {
        seq: v.seq,
        sender: v.sender,
        sentAt: v.created_at,
        body: null,
        problem: 'This message could not be decrypted: it was damaged or altered.',
      };
    }
  });
  let linkSent = false;
  if (c.link_requested) linkSent = await fulfil(s, c.id, key).catch(() => false);
  return {
    id: c.id,
    guestEmail: c.guest_email,
    claimedEmail: claimed(intro, c.guest_email),
    guestName: intro.name,
    confirmed: c.confirmed,
    unread: c.unread,
    lastSeq: c.last_seq,
    linkSent,
    messages,
  };
}

async function send(arg: SendInput): Promise<SendResult> {
  const s = need();
  let key = s.keys.get(arg.id);
  if (!key) {
    const c = await api.get<ConversationView>(`/conversations/${arg.id}`);
    key = keyFor(s, c.id, c.sealed_key);
  }
  const token = `${arg.id}\n${arg.delivery}\n${arg.body}`;
  let p = s.pending.get(token);
  if (!p) {
    const sentAt = Date.now();
    const encrypted = key.encrypt('member', sentAt, arg.body);
    const grant = key.newGrant();
    p = {
      messageId: encrypted.messageId,
      ciphertext: toB64(encrypted.ciphertext),
      grantId: grant.grantId(),
      wrapped: toB64(grant.wrapped),
      fragment: grant.exposeFragment(),
      sentAt,
    };
    encrypted.free();
    grant.free();
    s.pending.set(token, p);
  }
  const body: Record<string, unknown> = {
    message_id: p.messageId,
    ciphertext: p.ciphertext,
    grant: { grant_id: p.grantId, wrapped_key: p.wrapped },
  };
  // Only for "email": the server sees this link key (it must, to mail it).
  if (arg.delivery === 'email') body.link = p.fragment;
  let posted: { seq: number; notification: SendResult['notification'] };
  try {
    posted = await api.post(`/conversations/${arg.id}/messages`, body);
  } catch (e) {
    // Keep the bytes for a retry only where a retry can help.
    if (!(e instanceof ApiError && (e.status === 0 || e.status === 429 || e.status >= 500))) s.pending.delete(token);
    throw e;
  }
  s.pending.delete(token);
  return {
    seq: posted.seq,
    sentAt: p.sentAt,
    notification: posted.notification,
    fragment: arg.delivery === 'self' ? p.fragment : null,
  };
}

/** The password and recovery steps want a sign-in under five minutes old. */
async function reauthenticate(s: Session, password: string): Promise<void> {
  const { member, kek } = await login(s.handle, password);
  try {
    const check = kek.openIdentity(fromB64(member.sealed_identity), fromB64(member.identity_public));
    const same = toB64(check.publicKey) === toB64(s.identity.publicKey);
    check.free();
    if (!same) throw new ApiError(0, 'identity_mismatch', 'The key stored on the server is not the one unlocked in this tab. Sign in again.');
  } catch (e) {
    throw local(e);
  } finally {
    kek.free();
  }
}

async function changePassword(arg: { current: string; next: string }): Promise<null> {
  const s = need();
  await reauthenticate(s, arg.current);
  const registration = Registration.start(arg.next);
  let response: string;
  try {
    ({ response } = await api.post<{ response: string }>('/me/password/start', {
      request: toB64(registration.request),
    }));
  } catch (e) {
    registration.free();
    throw e;
  }
  let upload: Uint8Array;
  let sealed: Uint8Array;
  try {
    const result = registration.finish(arg.next, fromB64(response));
    upload = result.message;
    const kek = result.takeKek();
    result.free();
    // The same private key, sealed under the new password's KEK.
    sealed = kek.sealIdentity(s.identity);
    kek.free();
  } catch (e) {
    throw local(e);
  }
  await api.post('/me/password/finish', { upload: toB64(upload), sealed_identity: toB64(sealed) });
  return null;
}

async function newRecovery(arg: { password: string }): Promise<string> {
  const s = need();
  await reauthenticate(s, arg.password);
  const recovery = Recovery.generate();
  const kek = recovery.kek();
  const sealed = kek.sealIdentity(s.identity);
  kek.free();
  const proof = recovery.proof();
  const printable = recovery.exposePrintable();
  recovery.free();
  await call('PUT', '/me/recovery', {
    recovery_sealed_identity: toB64(sealed),
    recovery_proof: toB64(proof),
  });
  return printable;
}

/**
 * A lost password: prove the recovery key, open the private key it sealed,
 * register the new password with the same private key, then sign in.
 */
async function recover(arg: { handle: string; recoveryKey: string; next: string }): Promise<MemberView> {
  const handle = arg.handle.trim().toLowerCase();
  let recovery: Recovery;
  try {
    recovery = Recovery.parse(arg.recoveryKey);
  } catch {
    throw new ApiError(0, 'invalid_recovery_key', 'This is not a recovery key: it starts with LKR1 and has eight groups of four characters.');
  }
  const proof = toB64(recovery.proof());
  const registration = Registration.start(arg.next);
  let started: { response: string; identity_public: string; recovery_sealed_identity: string };
  try {
    started = await api.post('/members/recover/start', {
      handle,
      recovery_proof: proof,
      request: toB64(registration.request),
    });
  } catch (e) {
    registration.free();
    recovery.free();
    throw e;
  }
  // Every wasm object holding a secret is freed (wiped) on every path.
  let upload: Uint8Array;
  let sealed: Uint8Array;
  const recoveryKek = recovery.kek();
  recovery.free();
  let identity: Identity | null = null;
  let registrationUsed = false;
  try {
    identity = recoveryKek.openIdentity(
      fromB64(started.recovery_sealed_identity),
      fromB64(started.identity_public),
    );
    const response = fromB64(started.response);
    registrationUsed = true;
    const result = registration.finish(arg.next, response);
    upload = result.message;
    const kek = result.takeKek();
    result.free();
    try {
      sealed = kek.sealIdentity(identity);
    } finally {
      kek.free();
    }
  } catch (e) {
    throw local(e);
  } finally {
    recoveryKek.free();
    identity?.free();
    if (!registrationUsed) registration.free();
  }
  await api.post('/members/recover/finish', {
    handle,
    recovery_proof: proof,
    upload: toB64(upload),
    sealed_identity: toB64(sealed),
  });
  return signIn({ handle, password: arg.next });
}

type Handlers = { [M in keyof Methods]: (arg: Methods[M]['arg']) => Promise<Methods[M]['result']> };

const handlers: Handlers = {
  status: () => Promise.resolve(status()),
  signUp,
  signIn,
  inbox,
  fulfilAll,
  thread,
  send,
  changePassword,
  newRecovery,
  recover,
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
