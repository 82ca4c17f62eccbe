// The protocol core compiled to WebAssembly, in headless Chromium, under the
// production Content-Security-Policy:
// - the Rust vector runner checks every shared vector file (the same files the
//   native tests read);
// - the JavaScript façade is driven with the vectors and through full round
//   trips (guest bundle, member bundle);
// - OPAQUE with Argon2id runs inside a Web Worker.
// Needs `scripts/build-wasm` to have run (the test command does that).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { resolve } from 'node:path';

import { launch } from './support/browser.mjs';
import { serveStatic } from './support/static-server.mjs';

const VECTORS = resolve(import.meta.dirname, '../../crates/core/tests/vectors');
let server;
let browser;

async function vectorFiles() {
  // Sorted by name, not file name: 'identity' before 'identity-proof'.
  const names = (await readdir(VECTORS)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
  return Promise.all(
    names.map(async (name) => ({ name, text: await readFile(resolve(VECTORS, `${name}.json`), 'utf8') })),
  );
}

async function openBundle(bundle) {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(`${server.origin}/harness/index.html?bundle=${bundle}`);
  await page.waitForFunction(() => window.latchkey !== undefined, null, { timeout: 30_000 }).catch((e) => {
    throw new Error(`bundle ${bundle} did not load: ${errors.join('; ') || e}`);
  });
  return { page, errors };
}

before(async () => {
  server = await serveStatic();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

describe('shared vectors, run by the Rust runner compiled to WebAssembly', () => {
  test('every case of every vector file passes in Chromium', async () => {
    const { page, errors } = await openBundle('testkit');
    const files = await vectorFiles();
    const listed = await page.evaluate(() => window.latchkey.vectorFiles());
    assert.deepEqual([...listed].sort(), files.map((f) => f.name));
    let total = 0;
    for (const { name, text } of files) {
      const expected = JSON.parse(text).cases.length;
      const passed = await page.evaluate(([n, t]) => window.latchkey.runVectors(n, t), [name, text]);
      assert.equal(passed, expected, `${name}: ${passed} of ${expected} cases`);
      total += passed;
    }
    assert.ok(total >= 90, `only ${total} cases`);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a corrupted vector is reported, not passed', async () => {
    const { page } = await openBundle('testkit');
    const [message] = (await vectorFiles()).filter((f) => f.name === 'message');
    const v = JSON.parse(message.text);
    const ct = v.cases[0].ciphertext;
    v.cases[0].ciphertext = ct.slice(0, -1) + (ct.endsWith('0') ? '1' : '0');
    const outcome = await page.evaluate((t) => {
      try {
        return `passed ${window.latchkey.runVectors('message', t)}`;
      } catch (e) {
        return `threw ${e.message}`;
      }
    }, JSON.stringify(v));
    assert.match(outcome, /^threw message case 0 \(message.encrypt\): ciphertext/);
    await page.close();
  });
});

describe('guest bundle façade', () => {
  test('links: fragment, grant id and every parse error, as in the vectors', async () => {
    const { page } = await openBundle('guest');
    const link = JSON.parse(await readFile(resolve(VECTORS, 'link.json'), 'utf8'));
    const results = await page.evaluate((cases) => {
      const { Link } = window.latchkey;
      return cases.map((c) => {
        try {
          const l = Link.parse(c.fragment);
          return { ok: true, grantId: l.grantId(), fragment: l.exposeFragment() };
        } catch (e) {
          return { ok: false, code: e.message.split(':')[0] };
        }
      });
    }, link.cases);
    link.cases.forEach((c, i) => {
      if (c.op === 'link.encode') {
        assert.deepEqual(results[i], { ok: true, grantId: c.grant_id_base64url, fragment: c.fragment });
      } else {
        assert.deepEqual(results[i], { ok: false, code: c.error }, `fragment ${JSON.stringify(c.fragment)}`);
      }
    });
    await page.close();
  });

  test('links given as bytes parse exactly as strings do, and the bytes are left to the caller to wipe', async () => {
    const { page } = await openBundle('guest');
    const link = JSON.parse(await readFile(resolve(VECTORS, 'link.json'), 'utf8'));
    const fragments = link.cases.map((c) => c.fragment).filter((f) => typeof f === 'string');
    const results = await page.evaluate((fragments) => {
      const { Link } = window.latchkey;
      const outcome = (parse) => {
        try {
          const l = parse();
          const seen = { ok: true, grantId: l.grantId() };
          l.free();
          return seen;
        } catch (e) {
          return { ok: false, code: e.message.split(':')[0] };
        }
      };
      const cases = fragments.map((f) => {
        const bytes = new TextEncoder().encode(f);
        const copy = bytes.slice();
        const asBytes = outcome(() => Link.parseBytes(bytes));
        return { asString: outcome(() => Link.parse(f)), asBytes, untouched: bytes.every((b, i) => b === copy[i]) };
      });
      // Not UTF-8: refused, as a malformed input.
      const notText = outcome(() => Link.parseBytes(new Uint8Array([0x6b, 0x31, 0x2e, 0xff])));
      return { cases, notText };
    }, fragments);
    assert.ok(results.cases.length >= 5, `${results.cases.length} fragments`);
    assert.ok(results.cases.some((r) => r.asBytes.ok) && results.cases.some((r) => !r.asBytes.ok));
    for (const [i, r] of results.cases.entries()) {
      assert.deepEqual(r.asBytes, r.asString, `fragment ${JSON.stringify(fragments[i])}`);
      assert.ok(r.untouched, 'the caller\'s buffer is his to wipe');
    }
    assert.deepEqual(results.notText, { ok: false, code: 'malformed' });
    await page.close();
  });

  test('grant vectors: the right link opens, every altered input is refused with its code', async () => {
    const { page } = await openBundle('guest');
    const grant = JSON.parse(await readFile(resolve(VECTORS, 'grant.json'), 'utf8'));
    const results = await page.evaluate((cases) => {
      const { Link } = window.latchkey;
      const hex = (h) => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));
      const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
      return cases.map((c) => {
        try {
          const link = Link.parse(`k1.${b64url(hex(c.link_key))}`);
          link.open(c.conversation_id, hex(c.wrapped));
          return 'opened';
        } catch (e) {
          return e.message.split(':')[0];
        }
      });
    }, grant.cases);
    grant.cases.forEach((c, i) => assert.equal(results[i], c.op === 'grant.wrap' ? 'opened' : c.error));
    await page.close();
  });

  test('round trip: guest writes, member-side link opens, tampering and misplacement are refused', async () => {
    const { page } = await openBundle('guest');
    const r = await page.evaluate(() => {
      const { Conversation, Link } = window.latchkey;
      const code = (f) => { try { f(); return 'ok'; } catch (e) { return e.message.split(':')[0]; } };
      const conv = Conversation.create();
      const body = 'Hello <script>alert(1)</script> — ünïcödé 🌧️';
      const enc = conv.encrypt('guest', 1795000000000, body, 'ann@example.org', 'Ann');
      const grant = conv.newGrant();
      const fragment = grant.exposeFragment();
      const link = Link.parse(fragment);
      const reopened = link.open(conv.id, grant.wrapped);
      const dec = reopened.decrypt(enc.messageId, 'guest', enc.ciphertext);
      const tampered = enc.ciphertext.slice();
      tampered[40] ^= 1;
      const other = Conversation.create();
      return {
        fragmentShape: /^k1\.[A-Za-z0-9_-]{43}$/.test(fragment),
        sameGrant: link.grantId() === grant.grantId(),
        dec: { sentAt: dec.sentAt, body: dec.body, email: dec.introEmail, name: dec.introName },
        padded: (enc.ciphertext.length - 41) % 256 === 0,
        tampered: code(() => reopened.decrypt(enc.messageId, 'guest', tampered)),
        roleFlip: code(() => reopened.decrypt(enc.messageId, 'member', enc.ciphertext)),
        otherId: code(() => reopened.decrypt('0'.repeat(32), 'guest', enc.ciphertext)),
        otherConversation: code(() => link.open(other.id, grant.wrapped)),
        badId: code(() => reopened.decrypt('xyz', 'guest', enc.ciphertext)),
        badRole: code(() => reopened.decrypt(enc.messageId, 'admin', enc.ciphertext)),
        badTime: code(() => conv.encrypt('guest', -1, 'x')),
      };
    });
    assert.deepEqual(r, {
      fragmentShape: true,
      sameGrant: true,
      dec: { sentAt: 1795000000000, body: 'Hello <script>alert(1)</script> — ünïcödé 🌧️', email: 'ann@example.org', name: 'Ann' },
      padded: true,
      tampered: 'decryption_failed',
      roleFlip: 'decryption_failed',
      otherId: 'decryption_failed',
      otherConversation: 'decryption_failed',
      badId: 'malformed',
      badRole: 'malformed',
      badTime: 'malformed',
    });
    await page.close();
  });

  test('carries no member-only code', async () => {
    const { page } = await openBundle('guest');
    const exported = await page.evaluate(() => Object.keys(window.latchkey).sort());
    for (const name of ['Registration', 'Login', 'Identity', 'Kek', 'Recovery', 'runVectors']) {
      assert.ok(!exported.includes(name), `guest bundle exports ${name}`);
    }
    for (const name of ['Conversation', 'Link', 'fingerprint']) {
      assert.ok(exported.includes(name), `guest bundle lacks ${name}`);
    }
    await page.close();
  });
});

describe('member bundle façade', () => {
  test('identity, sealing to the member, recovery key and KEK', async () => {
    const { page } = await openBundle('member');
    const r = await page.evaluate(() => {
      const { Conversation, Identity, Recovery, fingerprint } = window.latchkey;
      const code = (f) => { try { f(); return 'ok'; } catch (e) { return e.message.split(':')[0]; } };
      const me = Identity.generate();
      const guestSide = Conversation.create();
      const sealed = guestSide.sealToMember(me.publicKey);
      const msg = guestSide.encrypt('guest', 1, 'first', 'g@example.org', '');
      const memberSide = me.openConversation(guestSide.id, sealed);
      const read = memberSide.decrypt(msg.messageId, 'guest', msg.ciphertext);
      const recovery = Recovery.generate();
      const printable = recovery.exposePrintable();
      const sealedIdentity = recovery.kek().sealIdentity(me);
      const typedBack = Recovery.parse(printable.toLowerCase().replace(/-/g, ' '));
      const restored = typedBack.kek().openIdentity(sealedIdentity, me.publicKey);
      const stranger = Identity.generate();
      return {
        printable: /^LKR1(-[0-9A-HJKMNP-TV-Z]{4}){8}$/.test(printable),
        read: read.body,
        fingerprintMatches: fingerprint(me.publicKey) === me.fingerprint,
        fingerprintShape: /^[0-9A-Z]{4}( [0-9A-Z]{4}){3}$/.test(me.fingerprint),
        restoredSame: restored.fingerprint === me.fingerprint,
        wrongRecovery: code(() => Recovery.generate().kek().openIdentity(sealedIdentity, me.publicKey)),
        wrongPublic: code(() => typedBack.kek().openIdentity(sealedIdentity, stranger.publicKey)),
        strangerOpens: code(() => stranger.openConversation(guestSide.id, sealed)),
        badRecovery: code(() => Recovery.parse('LKR1-not-a-key')),
      };
    });
    assert.deepEqual(r, {
      printable: true,
      read: 'first',
      fingerprintMatches: true,
      fingerprintShape: true,
      restoredSame: true,
      wrongRecovery: 'decryption_failed',
      wrongPublic: 'decryption_failed',
      strangerOpens: 'decryption_failed',
      badRecovery: 'invalid_recovery_key',
    });
    await page.close();
  });

  test('OPAQUE with Argon2id runs in a Web Worker', async () => {
    const { page } = await openBundle('guest');
    const r = await page.evaluate(
      () =>
        new Promise((ok) => {
          const w = new Worker('/harness/worker.js', { type: 'module' });
          w.onmessage = (e) => ok(e.data);
          w.onerror = (e) => ok({ ok: false, error: e.message });
          w.postMessage('go');
        }),
    );
    assert.equal(r.ok, true, r.error);
    assert.equal(r.cases, 1);
    console.log(`# OPAQUE vector (registration + login, 2 × Argon2id, both halves) in a worker: ${r.ms.toFixed(0)} ms`);
    await page.close();
  });
});
