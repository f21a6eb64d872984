// Scenario `ingress-jwt`: the `ingress` scenario with `auth.oauth2.jwt` (RS256 from a JWKS on loopback), and what one check costs.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import type { Config } from '../../src/config/schema.ts';
import { createAuthenticator } from '../../src/ingress/auth.ts';
import { JwtVerifier } from '../../src/ingress/jwt-verify.ts';
import { silentLogger } from '../../src/log.ts';
import { startDaemon } from '../harness/daemon.ts';
import { measureIngress } from '../harness/measure.ts';
import type { Figures, Scenario } from './types.ts';

const ISSUER = 'https://idp.bench/oauth2/default';
const AUDIENCE = 'api://hookroute';
const KID = 'bench-rsa';

export const ingressJwt: Scenario = {
  name: 'ingress-jwt',
  kind: 'scenario',
  measures:
    'the `ingress` scenario with auth.oauth2.jwt (Iterable re-uses one RS256 token): compare its rps with `ingress`; plus one uncached RS256 verification and one cached check, in-process (µs)',
  async run(ctx) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwks = JSON.stringify({
      keys: [{ ...publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' }],
    });
    const idp = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(jwks));
    await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
    const jwksUrl = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/keys`;
    try {
      const headers = { authorization: `OAuth2 ${await sign(privateKey, 'iterable')}` };
      const yaml = `auth: { mode: oauth2, oauth2: { jwt: { jwksUrl: "${jwksUrl}", issuer: "${ISSUER}", audience: "${AUDIENCE}" } } }`;
      const daemon = await startDaemon(ctx, { pipelines: () => ({}), fsync: 'batch', auth: { yaml, headers } });
      let out: Awaited<ReturnType<typeof measureIngress>>;
      try {
        out = await measureIngress(ctx, daemon.url, daemon.pid, { sweep: true, headers });
      } finally {
        await daemon.stop();
      }
      return { ...out, figures: { ...out.figures, ...(await checkCosts(jwksUrl, privateKey, ctx.quick)) } };
    } finally {
      idp.closeAllConnections();
      await new Promise((resolve) => idp.close(resolve));
    }
  },
};

function sign(key: KeyObject, sub: string): Promise<string> {
  return new SignJWT({ sub })
    .setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(key);
}

/** `verifyUncachedUs`: one new token through jose (RS256 signature, claims); `cachedCheckUs`: the hot path for a known token. */
async function checkCosts(jwksUrl: string, key: KeyObject, quick: boolean): Promise<Figures> {
  const config: Config['auth'] = {
    mode: 'oauth2',
    allowIps: [],
    oauth2: {
      clients: [],
      tokenTtlMs: 0,
      jwt: { jwksUrl, issuer: ISSUER, audience: [AUDIENCE], algorithms: ['RS256', 'ES256'], clockToleranceMs: 30_000 },
    },
  };
  const verifier = new JwtVerifier(config.oauth2!.jwt!, { logger: silentLogger });
  await verifier.start();
  try {
    const tokens = await Promise.all(Array.from({ length: quick ? 50 : 500 }, (_, i) => sign(key, `client-${i}`)));
    // Warm-up: key import and JIT.
    for (const t of tokens.slice(0, 10)) await verifier.verify(t);
    verifier.clearCaches();
    let start = performance.now();
    for (const t of tokens) if ((await verifier.verify(t)) !== true) throw new Error('bench token refused');
    const verifyUncachedUs = ((performance.now() - start) * 1000) / tokens.length;
    const auth = createAuthenticator(config, undefined, verifier);
    const header = `OAuth2 ${tokens[0]}`;
    const rounds = quick ? 20_000 : 200_000;
    start = performance.now();
    for (let i = 0; i < rounds; i++) if (auth.check(header, '') !== true) throw new Error('cached check missed');
    const cachedCheckUs = ((performance.now() - start) * 1000) / rounds;
    return { verifyUncachedUs, cachedCheckUs };
  } finally {
    verifier.close();
  }
}
