// The real thing for page tests: maildev as the SMTP server, the latchkey
// binary (target/debug/latchkey, built by scripts/test) on port 0 with a
// fresh SQLite database, and its CLI for the member's side.
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const ROOT = resolve(import.meta.dirname, '../../..');
export const LATCHKEY = process.env.TEST_LATCHKEY_BIN ?? join(ROOT, 'target/debug/latchkey');
const MAILDEV = join(ROOT, 'web/node_modules/.bin/maildev');
const run = promisify(execFile);
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

async function freePort() {
  const server = createServer();
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  await new Promise((ok) => server.close(ok));
  return port;
}

/** The link page address in a mail's text. */
export function linkIn(mail) {
  const link = mail.text.split(/\s+/).find((w) => w.includes('/open#k1.'));
  if (!link) throw new Error(`the mail "${mail.subject}" has no link`);
  return link;
}

export async function startMail() {
  const dir = await mkdtemp(join(tmpdir(), 'maildev-'));
  const smtpPort = await freePort();
  const webPort = await freePort();
  const child = spawn(MAILDEV, ['--smtp', smtpPort, '--web', webPort, '--ip', '127.0.0.1',
    '--web-ip', '127.0.0.1', '--silent', '--mail-directory', dir], { stdio: 'ignore' });
  const api = `http://127.0.0.1:${webPort}/api/email`;
  for (let i = 0; ; i++) {
    try { if ((await fetch(api)).ok) break; } catch { /* not yet */ }
    if (i > 300) throw new Error('maildev did not start');
    await sleep(100);
  }
  const all = async () => (await fetch(api)).json();
  const to = async (address) =>
    (await all()).filter((m) => m.envelope?.to?.[0]?.address === address);
  return {
    smtpPort,
    all,
    async waitFor(address, count) {
      for (let i = 0; i < 300; i++) {
        const mails = await to(address);
        if (mails.length >= count) return mails;
        await sleep(100);
      }
      throw new Error(`${address} did not receive ${count} mails`);
    },
    /** The `count`-th mail to `address` (as maildev has it: text, html, …). */
    async message(address, count) {
      return (await this.waitFor(address, count))[count - 1];
    },
    /** The link in the `count`-th mail to `address`. */
    async link(address, count) {
      return linkIn(await this.message(address, count));
    },
    async stop() {
      child.kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function startServer(mail, extraEnv = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'latchkey-'));
  const secrets = join(dir, 'secrets.key');
  await run(LATCHKEY, ['init', '--secrets-file', secrets], { env: { PATH: process.env.PATH } });
  const env = {
    PATH: process.env.PATH,
    LATCHKEY_DEV: 'true',
    LATCHKEY_BIND: '127.0.0.1:0',
    LATCHKEY_DATABASE_URL: `sqlite://${join(dir, 'data/latchkey.db')}?mode=rwc`,
    LATCHKEY_SECRETS_FILE: secrets,
    LATCHKEY_MAIL__TRANSPORT: 'smtp',
    LATCHKEY_MAIL__SMTP__HOST: '127.0.0.1',
    LATCHKEY_MAIL__SMTP__PORT: String(mail.smtpPort),
    LATCHKEY_MAIL__SMTP__SECURITY: 'none',
    LATCHKEY_OUTBOX__POLL_MS: '100',
    LATCHKEY_OUTBOX__SWEEP_SECS: '1',
    LATCHKEY_LOG__FILTER: 'warn',
    ...extraEnv,
  };
  const child = spawn(LATCHKEY, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  // Everything the server prints, for tests that scan its log.
  const output = [];
  child.stderr.on('data', (chunk) => {
    output.push(String(chunk));
    process.stderr.write(chunk);
  });
  const lines = createInterface({ input: child.stdout });
  const base = await new Promise((ok, fail) => {
    lines.on('line', (line) => {
      output.push(line);
      const m = /listening on (\S+)/.exec(line);
      if (m) ok(m[1]);
    });
    child.on('exit', (code) => fail(new Error(`latchkey serve exited (${code})`)));
  });
  const cliEnv = { PATH: process.env.PATH, LATCHKEY_SERVER: base };
  return {
    base,
    /** The server's data folder (its SQLite database), until `stop`. */
    dir,
    /** The lines it printed so far (stdout and stderr). */
    output,
    /** Runs a `latchkey` client command against this server. */
    async cli(args, env = {}) {
      const { stdout } = await run(LATCHKEY, args, { env: { ...cliEnv, ...env } });
      return stdout;
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((ok) => child.once('exit', ok));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
