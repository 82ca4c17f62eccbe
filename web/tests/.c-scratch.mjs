import { ENGINES, startEngine } from './support/engines.mjs';
import { startMail, startServer } from './support/latchkey.mjs';
import { startWebmail } from './support/webmail.mjs';
const mail = await startMail(); const server = await startServer(mail, { LATCHKEY_RATE_LIMITS__LOGIN_PER_IP_PER_MINUTE: '200', LATCHKEY_RATE_LIMITS__LOGIN_PER_HANDLE_PER_MINUTE: '200' }); const webmail = await startWebmail();
const member = { LATCHKEY_HANDLE: 'bob', LATCHKEY_PASSWORD: 'a long member passphrase' };
await server.cli(['member', 'add', '--name', 'Bob Builder', '--email', 'bob@member.test'], member);
for (const name of (process.argv[2] ?? ENGINES.join(',')).split(',')) {
  const t0 = Date.now();
  const engine = await startEngine(name);
  const guest = await engine.guest();
  const address = `ann-${name}@guest.test`;
  try {
    await guest.goto(`${server.base}/m/bob`);
    await guest.waitFor('heading', 'Write to Bob Builder');
    await guest.fill('Your e-mail address', address);
    await guest.fill('Message', 'hi');
    await guest.click('button', 'Send');
    await guest.waitFor('heading', 'Sent');
    const conv = (await server.cli(['inbox'], member)).split('\n').filter(Boolean).map(l => l.split(/\s+/)[0]);
    let byHand;
    for (const c of conv) { const r = await server.cli(['read', c], member); if (r.includes(address)) byHand = /link: (\S+)/.exec(await server.cli(['send', c, 'x', '--deliver-myself'], member))[1]; }
    await guest.goto(webmail.address(await mail.message(address, 1)));
    await guest.click('link', 'Open the conversation');
    await guest.waitFor('heading', 'Bob Builder wrote to you');
    console.log(name, 'landing', await guest.url());
    const t1 = Date.now();
    await guest.goto(byHand);
    console.log(name, 'goto fragment returned after', Date.now() - t1, 'ms', await guest.url());
    await guest.waitFor('heading', 'Bob Builder wrote to you');
    console.log(name, 'landing 2', await guest.url(), await guest.layout());
    await guest.reload();
    await guest.waitFor('heading', 'Bob Builder wrote to you');
    console.log(name, 'reload ok', Date.now() - t0);
  } catch (e) { console.log(name, 'FAILED', e.message); }
  finally { await guest.close(); await engine.close(); }
}
await webmail.close(); await server.stop(); await mail.stop();
