// Browser timing for docs/benchmarks.md: the median time from the click on
// "Open conversation" to the last message on screen, for conversations of
// 1 and 1,000 messages, and the bytes the guest link page transfers.
//
//   scripts/build-wasm && scripts/build-web
//   cargo build --release -p latchkey --bin latchkey --example seed
//   TEST_LATCHKEY_BIN=target/release/latchkey node web/bench/open-timing.mjs
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { launch } from '../tests/support/browser.mjs';
import { startMail, startServer } from '../tests/support/latchkey.mjs';

const run = promisify(execFile);
const SEED = process.env.SEED_BIN ?? resolve(import.meta.dirname, '../../target/release/examples/seed');
const RUNS = 9;
const member = { LATCHKEY_HANDLE: 'bob', LATCHKEY_PASSWORD: 'benchmark passphrase' };

const mail = await startMail();
const server = await startServer(mail, {
  LATCHKEY_RATE_LIMITS__REDEEM_PER_IP_PER_MINUTE: '100000',
  LATCHKEY_RATE_LIMITS__POSTS_PER_SESSION_PER_MINUTE: '100000',
});
const browser = await launch();
try {
  await server.cli(['member', 'add', '--name', 'Bob', '--email', 'bob@member.test'], member);
  for (const size of [1, 1000]) {
    const guest = `guest${size}@bench.test`;
    await server.cli(['contact', 'bob', '--email', guest, 'The first message.'], {});
    const conversation = (await server.cli(['inbox'], member))
      .split('\n')
      .find((l) => l.includes('1 message(s)'))
      .split(/\s+/)[0];
    const { stdout } = await run(SEED, [
      server.base, 'bob', member.LATCHKEY_PASSWORD, conversation, String(size - 1), String(RUNS),
    ], { maxBuffer: 1 << 24 });
    const links = stdout.trim().split('\n');
    const times = [];
    let transferred = 0;
    for (const link of links) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const finished = [];
      page.on('requestfinished', (r) => finished.push(r));
      await page.goto(link);
      const open = page.getByRole('button', { name: 'Open conversation' });
      await open.waitFor();
      if (!transferred) {
        for (const r of finished) transferred += (await r.sizes()).responseBodySize;
      }
      await page.getByLabel('Your e-mail address').fill(guest);
      const started = performance.now();
      await open.click();
      await page.locator('.message').nth(size - 1).waitFor();
      times.push(performance.now() - started);
      await context.close();
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)];
    console.log(
      `${size} message(s): median ${median.toFixed(0)} ms from click to messages on screen ` +
        `(${RUNS} runs, min ${times[0].toFixed(0)}, max ${times.at(-1).toFixed(0)}); ` +
        `link page transferred ${transferred} B before the click`,
    );
  }
} finally {
  await browser.close();
  await server.stop();
  await mail.stop();
}
