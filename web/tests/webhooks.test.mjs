// Webhook signatures checked by an independent implementation: npm's
// `standardwebhooks` (the Standard Webhooks project's own library), as a
// site's backend would check them. The real server delivers real events to
// a receiver on loopback; the endpoint and its secret come from the
// operator's `latchkey admin webhook add`; the events come from a guest and
// a member using the latchkey CLI. Every delivery must verify with the
// secret, and none with a tampered body, another id, or another secret.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';
import standardwebhooks from 'standardwebhooks';
import { startMail, startServer } from './support/latchkey.mjs';

const { Webhook } = standardwebhooks;
const member = { LATCHKEY_HANDLE: 'bob', LATCHKEY_PASSWORD: 'a long member passphrase' };
const guestEmail = 'ann@guest.test';

let mail, server, receiver;
/** Every request the receiver got: its headers and its body, as sent. */
const deliveries = [];

before(async () => {
  receiver = createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      deliveries.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(204).end();
    });
  });
  await new Promise((ok) => receiver.listen(0, '127.0.0.1', ok));
  mail = await startMail();
  server = await startServer(mail, {
    // The member's CLI signs in for every command.
    LATCHKEY_RATE_LIMITS__LOGIN_PER_HANDLE_PER_MINUTE: '1000',
    LATCHKEY_RATE_LIMITS__LOGIN_PER_IP_PER_MINUTE: '1000',
  });
});

after(async () => {
  await server?.stop();
  await mail?.stop();
  await new Promise((ok) => (receiver ? receiver.close(ok) : ok()));
});

/** `latchkey admin …` as the operator runs it, on the server's own files. */
function admin(args) {
  return server.cli(['admin', ...args], {
    LATCHKEY_DEV: 'true',
    LATCHKEY_DATABASE_URL: `sqlite://${join(server.dir, 'data/latchkey.db')}?mode=rwc`,
    LATCHKEY_SECRETS_FILE: join(server.dir, 'secrets.key'),
  });
}

async function waitForDeliveries(count) {
  for (let i = 0; i < 200; i++) {
    if (new Set(deliveries.map((d) => d.headers['webhook-id'])).size >= count) return;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  throw new Error(`${count} deliveries expected, got ${deliveries.length}: ${deliveries.map((d) => d.body)}`);
}

test('every delivery verifies with standardwebhooks, and nothing tampered does', async () => {
  const { port } = receiver.address();
  const printed = await admin(['webhook', 'add', '--url', `http://127.0.0.1:${port}/hooks`]);
  const [id, secret] = printed.trim().split('\n');
  assert.match(id, /^[0-9a-f]{32}$/);
  assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);

  // The events: a first contact, the guest opening his link and replying,
  // the member's answer, a new-link request, and the member's delete.
  await server.cli(['member', 'add', '--name', 'Bob Builder', '--email', 'bob@member.test'], member);
  await server.cli(['contact', 'bob', '--email', guestEmail, '--name', 'Ann', 'Hello Bob, this is Ann.'], {});
  const link = await mail.link(guestEmail, 1);
  await server.cli(['open', link, '--email', guestEmail, '--reply', 'Ann again.'], {});
  const conversation = (await server.cli(['inbox'], member)).split(/\s+/)[0];
  await server.cli(['send', conversation, 'Hello Ann, Bob here.'], member);
  await server.cli(['request-link', '--email', guestEmail, '--handle', 'bob'], {});
  await waitForDeliveries(5);
  await server.cli(['delete', conversation], member);
  await waitForDeliveries(6);

  const types = [...new Map(deliveries.map((d) => [d.headers['webhook-id'], JSON.parse(d.body).type])).values()];
  assert.deepEqual(types, [
    'message.created', 'link.opened', 'message.created', 'message.created', 'link.requested',
    'conversation.deleted',
  ]);

  const webhook = new Webhook(secret);
  const stranger = new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`);
  for (const { headers, body } of deliveries) {
    const verified = webhook.verify(body, headers);
    assert.deepEqual(verified, JSON.parse(body));
    assert.equal(verified.data.member, 'bob');
    assert.ok(!body.includes('Ann') && !body.includes('@') && !body.includes('Hello'), body);

    const tampered = body.replace('"bob"', '"eve"');
    assert.notEqual(tampered, body);
    assert.throws(() => webhook.verify(tampered, headers), /signature/i);
    assert.throws(
      () => webhook.verify(body, { ...headers, 'webhook-id': '0'.repeat(32) }),
      /signature/i,
    );
    assert.throws(() => stranger.verify(body, headers), /signature/i);
  }
});
