// The host site's OpenID provider for the sign-in tests: npm oidc-provider
// (a certified implementation) on a loopback port, with one client for
// latchkey. Its built-in login and consent pages are the "site's" pages a
// person fills in (any login name, any password: the site is not under
// test). Every code and token it hands out is kept, so that a test can look
// for them where they must not be (latchkey's log and database).
import { createServer } from 'node:net';
import Provider from 'oidc-provider';

async function freePort() {
  const server = createServer();
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  await new Promise((ok) => server.close(ok));
  return port;
}

/**
 * The site's users: login name → the claims the site tells about him
 * (`email_verified: true` unless they say otherwise). Each provider has
 * its own copy, which a test may change (`setUser`), as the site's users
 * change their profiles.
 */
const USERS = {
  jane: { preferred_username: 'Jane.Doe', name: 'Jane Doe', email: 'jane@example.org' },
  bob: { preferred_username: 'bob', name: 'Bob Builder', email: 'bob@example.org' },
  // Signed up at the site with an address she never confirmed.
  carol: { preferred_username: 'carol', name: 'Carol Unconfirmed', email: 'carol@example.org', email_verified: false },
};

/**
 * Starts the provider. `redirectUri` is latchkey's callback
 * (`<public_url>/api/v1/oidc/callback`).
 */
export async function startProvider({ redirectUri, clientId = 'latchkey', clientSecret, alg = 'ES256' }) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const secrets = new Set([clientSecret]);
  const users = structuredClone(USERS);
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: alg,
    }],
    // Keys of both kinds the relying party must verify.
    jwks: { keys: await signingKeys() },
    pkce: { methods: ['S256'], required: () => true },
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email', 'email_verified'] },
    // The profile claims in the ID token itself, where latchkey reads them.
    conformIdTokenClaims: false,
    findAccount: (_ctx, id) => ({
      accountId: id,
      claims: () => ({ sub: `site-user-${id}`, email_verified: true, ...(users[id] ?? { preferred_username: id, name: id, email: `${id}@example.org` }) }),
    }),
    cookies: { keys: ['test-only-cookie-key'] },
    features: { devInteractions: { enabled: true } },
  });
  // Every code and token, as the provider hands them out.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/token' && ctx.body && typeof ctx.body === 'object') {
      for (const v of [ctx.body.access_token, ctx.body.id_token]) if (v) secrets.add(v);
    }
    const location = ctx.response.get('location');
    const code = location && new URL(location, issuer).searchParams.get('code');
    if (code) secrets.add(code);
  });
  const server = provider.listen(port, '127.0.0.1');
  await new Promise((ok) => server.once('listening', ok));
  return {
    issuer,
    /** The client secret, codes and tokens handed out so far. */
    secrets: () => [...secrets],
    /** The site changes what it tells about `login` from now on. */
    setUser(login, claims) {
      users[login] = claims;
    },
    async stop() {
      await new Promise((ok) => server.close(ok));
    },
  };
}

async function signingKeys() {
  const { generateKeyPairSync } = await import('node:crypto');
  const jwk = (pair, extra) => ({ ...pair.privateKey.export({ format: 'jwk' }), ...extra });
  return [
    jwk(generateKeyPairSync('ec', { namedCurve: 'P-256' }), { kid: 'es256', alg: 'ES256', use: 'sig' }),
    jwk(generateKeyPairSync('rsa', { modulusLength: 2048 }), { kid: 'rs256', alg: 'RS256', use: 'sig' }),
  ];
}

export { freePort };
