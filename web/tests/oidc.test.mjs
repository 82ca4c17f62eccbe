// Signing in with the site's accounts, in Chromium against the real binary
// and a real OpenID provider (npm oidc-provider, support/oidc-provider.mjs)
// playing the host site: the person clicks "Sign in with Example Site",
// fills in the site's login and consent pages, and comes back. A first
// sign-in enrolls him (with a password, or with a passkey and no password,
// which then unlocks his key after the next sign-in); an address the site
// has not verified is not taken; a user name changed at the site between
// two unfinished enrollments gives the new handle. Also the attacks the
// flow must refuse (a tampered state, a replayed code, a provider that is
// not the configured issuer), passwords turned off, and no client secret,
// code or token in latchkey's log or database.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch } from './support/browser.mjs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { LATCHKEY, startMail, startServer } from './support/latchkey.mjs';
import { freePort, startProvider } from './support/oidc-provider.mjs';

const run = promisify(execFile);
const SITE = 'Example Site';
const PASSWORD = 'jane unlocks her key';
const CLIENT_SECRET = `client-secret-${randomBytes(16).toString('hex')}`;

let browser, mail, server, provider, secretDir, base;
const pageErrors = [];

before(async () => {
  mail = await startMail();
  // latchkey's address must be known before the provider registers its
  // callback, and the provider's before latchkey starts.
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  provider = await startProvider({ redirectUri: `${base}/api/v1/oidc/callback`, clientSecret: CLIENT_SECRET });
  secretDir = await mkdtemp(join(tmpdir(), 'oidc-secret-'));
  const secretFile = join(secretDir, 'client-secret');
  await writeFile(secretFile, `${CLIENT_SECRET}\n`);
  server = await startServer(mail, {
    LATCHKEY_BIND: `127.0.0.1:${port}`,
    LATCHKEY_PUBLIC_URL: base,
    LATCHKEY_OIDC__ISSUER: provider.issuer,
    LATCHKEY_OIDC__CLIENT_ID: 'latchkey',
    LATCHKEY_OIDC__CLIENT_SECRET_FILE: secretFile,
    LATCHKEY_OIDC__DISPLAY_NAME: SITE,
    // Everything latchkey logs about a sign-in, for the scan at the end.
    LATCHKEY_LOG__FILTER: 'latchkey_server=debug,info',
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await provider?.stop();
  await mail?.stop();
  if (secretDir) await rm(secretDir, { recursive: true, force: true });
});

async function newPage() {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e}`));
  return page;
}

/** The person types the sign-in page's address and clicks the site's button. */
async function clickSignInWithSite(page) {
  await page.goto(`${base}/signin`);
  await page.getByRole('link', { name: `Sign in with ${SITE}` }).click();
}

/** On the site's own pages: its login form, then its consent page. */
async function signInAtSite(page, login) {
  await page.waitForURL(`${provider.issuer}/**`);
  await page.locator('input[name=login]').fill(login);
  await page.locator('input[name=password]').fill('the site checks this, not latchkey');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  // The site asks for consent the first time only.
  const consent = page.getByRole('button', { name: 'Continue' });
  const back = page.waitForURL(`${base}/**`);
  await Promise.race([consent.click().catch(() => {}), back]);
}

/** Records the callback URLs the provider sends the browser to. */
function callbacks(page) {
  const seen = [];
  page.on('request', (r) => {
    if (r.url().startsWith(`${base}/api/v1/oidc/callback`)) seen.push(r.url());
  });
  return seen;
}

/**
 * Rewrites the callback the provider redirects the browser to, as an
 * attacker in the middle would. Through the DevTools protocol: the
 * callback is the end of a redirect chain, which page.route never sees.
 */
async function tamperCallback(page, change) {
  const cdp = await page.context().newCDPSession(page);
  cdp.on('Fetch.requestPaused', ({ requestId, request }) => {
    const url = new URL(request.url);
    change(url.searchParams);
    void cdp.send('Fetch.continueRequest', { requestId, url: url.toString() });
  });
  await cdp.send('Fetch.enable', { patterns: [{ urlPattern: `${base}/api/v1/oidc/callback*`, requestStage: 'Request' }] });
}

let firstCallback;

test('the first sign-in makes the member; the next one finds him', async () => {
  const page = await newPage();
  const seen = callbacks(page);
  await clickSignInWithSite(page);
  await signInAtSite(page, 'jane');
  // An invitation for the profile the site's claims gave, as the site's
  // backend would make: he sets up his key there.
  await page.waitForURL(`${base}/enroll`);
  assert.equal(seen.length, 1);
  firstCallback = seen[0];
  const url = new URL(firstCallback);
  assert.ok(url.searchParams.get('code') && url.searchParams.get('state'));
  await page.getByText('as jane-doe').waitFor();
  assert.equal(await page.getByLabel('Display name').inputValue(), 'Jane Doe');
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Repeat the password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Set up my account' }).click();
  await page.getByLabel('I have saved my recovery key somewhere safe').check();
  await page.getByRole('button', { name: 'Continue to my inbox' }).click();
  await page.waitForURL(`${base}/inbox`);
  await page.context().close();

  // Another day, another browser: the site signs him in again, and
  // latchkey finds the same member by the site's subject.
  const again = await newPage();
  await clickSignInWithSite(again);
  await signInAtSite(again, 'jane');
  await again.waitForURL(`${base}/`);
  const me = await again.evaluate(async () => {
    const answer = await fetch('/api/v1/me');
    return { status: answer.status, body: await answer.json() };
  });
  assert.equal(me.status, 200, JSON.stringify(me.body));
  assert.equal(me.body.handle, 'jane-doe');
  assert.equal(me.body.display_name, 'Jane Doe');
  // His key is his own: this browser must unlock it with his password.
  await again.getByRole('link', { name: 'Go to your inbox' }).click();
  await again.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await again.getByRole('button', { name: 'Unlock' }).click();
  await again.waitForURL(`${base}/inbox`);
  await again.context().close();
});

/** Finishes the enrollment form with a password, to the inbox. */
async function enrollWithPassword(page) {
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Repeat the password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Set up my account' }).click();
  await page.getByLabel('I have saved my recovery key somewhere safe').check();
  await page.getByRole('button', { name: 'Continue to my inbox' }).click();
  await page.waitForURL(`${base}/inbox`);
}

/** The enrollment token the callback sends the browser to (/enroll#TOKEN). */
function enrollmentToken(page) {
  return new Promise((ok) => {
    page.on('response', (r) => {
      const to = r.url().startsWith(`${base}/api/v1/oidc/callback`) && r.headers().location;
      if (to && to.includes('/enroll#')) ok(to.split('#')[1]);
    });
  });
}

test('an address the site has not verified is not taken: the enrollment page asks for one', async () => {
  const page = await newPage();
  const token = enrollmentToken(page);
  await clickSignInWithSite(page);
  await signInAtSite(page, 'carol');
  await page.waitForURL(`${base}/enroll`);
  await page.getByText('as carol').waitFor();
  assert.equal(await page.getByLabel('Display name').inputValue(), 'Carol Unconfirmed');
  // The site said email_verified: false. The server keeps no address for
  // her invitation and offers none; the field waits for her own.
  const email = page.getByLabel('E-mail address');
  assert.equal(await email.inputValue(), '');
  const peek = await page.evaluate(async (invite) => {
    const answer = await fetch('/api/v1/enroll/peek', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ invite }),
    });
    return { status: answer.status, body: await answer.json() };
  }, await token);
  assert.equal(peek.status, 200, JSON.stringify(peek.body));
  assert.equal(peek.body.handle, 'carol');
  assert.ok(!('email' in peek.body), JSON.stringify(peek.body));
  // The form does not go without one.
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Repeat the password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Set up my account' }).click();
  assert.equal(await email.getAttribute('aria-invalid'), 'true');
  // She types the address she reads.
  await email.fill('carol.reads.this@example.org');
  await enrollWithPassword(page);
  const me = await page.evaluate(async () => (await (await fetch('/api/v1/me')).json()).handle);
  assert.equal(me, 'carol');
  await page.context().close();
});

test('a user name changed at the site between two unfinished first sign-ins: the second works, under the new handle', async () => {
  provider.setUser('dan', { preferred_username: 'dan.old', name: 'Dan Changing', email: 'dan@example.org' });
  const first = await newPage();
  await clickSignInWithSite(first);
  await signInAtSite(first, 'dan');
  await first.waitForURL(`${base}/enroll`);
  await first.getByText('as dan-old').waitFor();
  // He leaves the form open, and renames himself at the site.
  provider.setUser('dan', { preferred_username: 'dan.new', name: 'Dan Changing', email: 'dan@example.org' });
  const second = await newPage();
  await clickSignInWithSite(second);
  await signInAtSite(second, 'dan');
  await second.waitForURL(`${base}/enroll`);
  await second.getByText('as dan-new').waitFor();
  await enrollWithPassword(second);
  const me = await second.evaluate(async () => (await (await fetch('/api/v1/me')).json()).handle);
  assert.equal(me, 'dan-new');
  await second.context().close();
  // The first link was withdrawn with its handle: it sets up nothing.
  await first.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await first.getByLabel('Repeat the password').fill(PASSWORD);
  await first.getByRole('button', { name: 'Set up my account' }).click();
  await first.getByRole('heading', { name: 'This invitation does not work' }).waitFor();
  await first.context().close();
  // And the next sign-in finds him, under the new handle.
  const again = await newPage();
  await clickSignInWithSite(again);
  await signInAtSite(again, 'dan');
  await again.waitForURL(`${base}/`);
  const back = await again.evaluate(async () => (await (await fetch('/api/v1/me')).json()).handle);
  assert.equal(back, 'dan-new');
  await again.context().close();
});

test('a replayed callback (same code, same state) is refused with a clear message', async () => {
  assert.ok(firstCallback, 'needs the first test');
  const page = await newPage();
  // An attacker with the old callback URL: no attempt in his browser.
  await page.goto(firstCallback);
  await page.waitForURL(`${base}/signin?oidc_error=state`);
  await assertProblem(page, 'already used');
  await page.context().close();
});

test('a replayed code in a fresh sign-in is refused by the provider, and said so', async () => {
  assert.ok(firstCallback, 'needs the first test');
  const page = await newPage();
  const oldCode = new URL(firstCallback).searchParams.get('code');
  await tamperCallback(page, (params) => params.set('code', oldCode));
  await clickSignInWithSite(page);
  await signInAtSite(page, 'jane');
  await page.waitForURL(`${base}/signin?oidc_error=provider`);
  await assertProblem(page, 'did not confirm this sign-in');
  await page.context().close();
});

test('a tampered state is refused with a clear message', async () => {
  const page = await newPage();
  await tamperCallback(page, (params) => params.set('state', `${params.get('state')}x`));
  await clickSignInWithSite(page);
  await signInAtSite(page, 'bob');
  await page.waitForURL(`${base}/signin?oidc_error=state`);
  await assertProblem(page, 'already used');
  // Nobody was signed in.
  const me = await page.evaluate(async () => (await fetch('/api/v1/me')).status);
  assert.equal(me, 401);
  await page.context().close();
});

test('a provider that is not the configured issuer fails with a clear message; passwords off hides them', async () => {
  // The same provider, configured with a trailing slash: its discovery
  // document names another issuer, so nothing it signs is believed.
  const port = await freePort();
  const other = `http://127.0.0.1:${port}`;
  const strict = await startServer(mail, {
    LATCHKEY_BIND: `127.0.0.1:${port}`,
    LATCHKEY_PUBLIC_URL: other,
    LATCHKEY_OIDC__ISSUER: `${provider.issuer}/`,
    LATCHKEY_OIDC__CLIENT_ID: 'latchkey',
    LATCHKEY_OIDC__CLIENT_SECRET: 'unused',
    LATCHKEY_OIDC__DISPLAY_NAME: SITE,
    LATCHKEY_AUTH__LOCAL_PASSWORDS: 'false',
  });
  try {
    const page = await newPage();
    await page.goto(`${other}/signin`);
    const button = page.getByRole('link', { name: `Sign in with ${SITE}` });
    await button.waitFor();
    // Only the site's button: no password form.
    assert.equal(await page.locator('input[type=password]').count(), 0);
    await button.click();
    await page.waitForURL(`${other}/signin?oidc_error=issuer`);
    await assertProblem(page, 'not the provider this server was set up for');
    // Joining is the site's button too.
    await page.goto(`${other}/signup`);
    await page.getByText(`New members join by signing in with their account at ${SITE}`).waitFor();
    assert.equal(await page.locator('input[type=password]').count(), 0);
    // The password endpoints say why they refuse.
    for (const path of ['/api/v1/session/login/start', '/api/v1/members/register/start']) {
      const answer = await fetch(`${other}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: other },
        body: JSON.stringify({ handle: 'mallory', request: `A${'Q'.repeat(43)}` }),
      });
      const body = await answer.json();
      assert.equal(answer.status, 403, `${path}: ${JSON.stringify(body)}`);
      assert.equal(body.error, 'passwords_disabled');
    }
    await page.context().close();
  } finally {
    await strict.stop();
  }
});

test('a provider that signs with RS256 is believed too', async () => {
  // The first provider signs ID tokens with ES256; this one with RS256.
  const port = await freePort();
  const site = `http://127.0.0.1:${port}`;
  const rsa = await startProvider({ redirectUri: `${site}/api/v1/oidc/callback`, clientSecret: 'rs256-secret', alg: 'RS256' });
  const rs = await startServer(mail, {
    LATCHKEY_BIND: `127.0.0.1:${port}`,
    LATCHKEY_PUBLIC_URL: site,
    LATCHKEY_OIDC__ISSUER: rsa.issuer,
    LATCHKEY_OIDC__CLIENT_ID: 'latchkey',
    LATCHKEY_OIDC__CLIENT_SECRET: 'rs256-secret',
    LATCHKEY_OIDC__DISPLAY_NAME: SITE,
  });
  try {
    const page = await newPage();
    await page.goto(`${site}/signin`);
    await page.getByRole('link', { name: `Sign in with ${SITE}` }).click();
    await page.waitForURL(`${rsa.issuer}/**`);
    await page.locator('input[name=login]').fill('bob');
    await page.locator('input[name=password]').fill('whatever the site wants');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${site}/enroll`);
    await page.getByText('as bob').waitFor();
    await page.context().close();
  } finally {
    await rs.stop();
    await rsa.stop();
  }
});

test('a member of the site sets up his key with a passkey (no password), and after the next sign-in the passkey unlocks it', async () => {
  // WebAuthn wants a domain, not an IP address: latchkey at localhost.
  // Passwords off, as on a server whose members all come from the site.
  const port = await freePort();
  const site = `http://localhost:${port}`;
  const idp = await startProvider({ redirectUri: `${site}/api/v1/oidc/callback`, clientSecret: 'passkey-secret' });
  const local = await startServer(mail, {
    LATCHKEY_BIND: `127.0.0.1:${port}`,
    LATCHKEY_PUBLIC_URL: site,
    LATCHKEY_OIDC__ISSUER: idp.issuer,
    LATCHKEY_OIDC__CLIENT_ID: 'latchkey',
    LATCHKEY_OIDC__CLIENT_SECRET: 'passkey-secret',
    LATCHKEY_OIDC__DISPLAY_NAME: SITE,
    LATCHKEY_AUTH__LOCAL_PASSWORDS: 'false',
  });
  try {
    const page = await newPage();
    // His laptop's authenticator, with PRF (DevTools' virtual one).
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', ctap2Version: 'ctap2_1', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, hasPrf: true },
    });
    await page.goto(`${site}/signin`);
    await page.getByRole('link', { name: `Sign in with ${SITE}` }).click();
    await page.waitForURL(`${idp.issuer}/**`);
    await page.locator('input[name=login]').fill('pat');
    await page.locator('input[name=password]').fill('the site checks this, not latchkey');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${site}/enroll`);
    await page.getByText('as pat').waitFor();
    assert.equal(await page.getByLabel('E-mail address').inputValue(), 'pat@example.org');
    // The passkey way: no password chosen, none typed.
    await page.locator('#enroll-passkey').click();
    await page.getByRole('heading', { name: 'Save your recovery key' }).waitFor({ timeout: 60_000 });
    assert.match((await page.locator('#recovery-key').textContent()).trim(), /^LKR1-/);
    await page.getByLabel('I have saved my recovery key somewhere safe').check();
    await page.getByRole('button', { name: 'Continue to my inbox' }).click();
    await page.getByRole('heading', { name: 'Inbox' }).waitFor();
    const me = await page.evaluate(async () => (await fetch('/api/v1/me')).json());
    assert.equal(me.handle, 'pat');
    assert.equal(me.sealed_identity, undefined, 'no password copy of his key');
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1);

    // Signed out, he signs in through the site again (its session still
    // open there: straight back), and finds his key locked.
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('heading', { name: 'Signed out' }).waitFor();
    await page.getByRole('main').getByRole('link', { name: 'Sign in again' }).click();
    await page.getByRole('link', { name: `Sign in with ${SITE}` }).click();
    await page.waitForURL(`${site}/`);
    await page.getByRole('link', { name: 'Go to your inbox' }).click();
    await page.getByRole('heading', { name: 'Unlock your messages' }).waitFor();
    // No password to type: he has none.
    assert.equal(await page.locator('input[type=password]').count(), 0);
    await page.locator('#unlock-passkey').click();
    await page.getByRole('heading', { name: 'Inbox' }).waitFor({ timeout: 30_000 });
    await page.context().close();
  } finally {
    await local.stop();
    await idp.stop();
  }
});

test('a member the site disabled cannot sign in with the site account', async () => {
  // The site's backend disables him through the admin API, with a token
  // the operator made on the server machine.
  const env = {
    PATH: process.env.PATH,
    LATCHKEY_DATABASE_URL: `sqlite://${join(server.dir, 'data/latchkey.db')}?mode=rwc`,
    LATCHKEY_SECRETS_FILE: join(server.dir, 'secrets.key'),
  };
  const { stdout } = await run(LATCHKEY, ['admin', 'token', 'create', '--name', 'site', '--scope', 'members:write'], { env });
  const token = stdout.split(/\s+/).find((w) => w.startsWith('lkadm_'));
  assert.ok(token, stdout);
  const disabled = await fetch(`${base}/api/v1/admin/members/jane-doe/disable`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  assert.ok(disabled.ok, `${disabled.status}`);
  const page = await newPage();
  await clickSignInWithSite(page);
  await signInAtSite(page, 'jane');
  await page.waitForURL(`${base}/signin?oidc_error=disabled`);
  await assertProblem(page, 'disabled your account');
  const me = await page.evaluate(async () => (await fetch('/api/v1/me')).status);
  assert.equal(me, 401);
  await page.context().close();
});

test('the client secret, codes and tokens are in neither the log nor the database, the site\'s account ids not in the database', async () => {
  const secrets = provider.secrets();
  assert.ok(secrets.length >= 4, `secret, codes and tokens seen: ${secrets.length}`);
  const log = server.output.join('\n');
  assert.ok(log.length > 0);
  const dataDir = join(server.dir, 'data');
  const files = await readdir(dataDir);
  const database = (await Promise.all(files.map((f) => readFile(join(dataDir, f))))).map((b) => b.toString('latin1')).join('');
  assert.ok(database.includes('oidc_accounts'), 'the scan reads the database');
  for (const secret of secrets) {
    assert.ok(!log.includes(secret), `the log has ${secret.slice(0, 8)}…`);
    assert.ok(!database.includes(secret), `the database has ${secret.slice(0, 8)}…`);
  }
  // Nor which account at the site is which member: the links keep a
  // keyed hash of issuer and subject (the provider's subjects are
  // site-user-LOGIN), and the issuer's address is nowhere either.
  assert.ok(!database.includes('site-user-'), 'the database has a subject');
  assert.ok(!database.includes(provider.issuer), 'the database has the issuer');
  assert.deepEqual(pageErrors, []);
});

async function assertProblem(page, words) {
  const alert = page.locator('#oidc-error');
  await alert.waitFor();
  assert.match(await alert.textContent(), new RegExp(words));
}
