// Built-in OAuth 2.0 client-credentials token endpoint (RFC 6749 section 4.4) and the signed, expiring tokens it issues.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/schema.ts';
import type { ErrorCode } from '../errors.ts';
import { digest, secretMatches } from './secret-compare.ts';

/** Largest token looked at: anything longer cannot be one we issued, and is not worth hashing. */
const MAX_TOKEN_LENGTH = 1024;
/** Largest token-request body: a form with client_id, client_secret and grant_type is far smaller. */
export const MAX_TOKEN_REQUEST_BYTES = 8 * 1024;
const TOKEN_PREFIX = 'hr1.';

type OAuthConfig = NonNullable<Config['auth']['oauth2']>;

/** The outcome of a token request, ready to write: `body` is JSON. */
export interface TokenResponse {
  status: number;
  body: string;
  /** Set on errors: the code from the error table. */
  error?: ErrorCode;
  /** `WWW-Authenticate` to send with a 401. */
  challenge?: string;
}

/**
 * Issues and verifies access tokens: `hr1.<base64url payload>.<base64url HMAC-SHA256>`, payload `{"c": clientId, "exp": ms}`.
 *
 * @example
 * const issuer = new TokenIssuer(config.auth.oauth2);
 * const { token } = issuer.issue('iterable');
 * issuer.verify(token); // true until tokenTtlMs has passed
 */
export class TokenIssuer {
  private readonly key: Buffer;
  private readonly clients: Map<string, Buffer>;
  readonly ttlMs: number;

  constructor(
    config: OAuthConfig,
    private readonly now: () => number = Date.now,
  ) {
    // Without a configured key, tokens are only valid for this process's lifetime.
    this.key = config.signingKey ? Buffer.from(config.signingKey, 'utf8') : randomBytes(32);
    this.clients = new Map(config.clients.map((c) => [c.id, digest(c.secret)]));
    this.ttlMs = config.tokenTtlMs;
  }

  /** Whether `id`/`secret` name a configured client (constant time in the secret; unknown ids still cost one compare). */
  authenticateClient(id: string, secret: string): boolean {
    const expected = this.clients.get(id);
    const ok = secretMatches(secret, expected ?? UNKNOWN_CLIENT);
    return ok && expected !== undefined;
  }

  /** A fresh token for a client that has already authenticated. */
  issue(clientId: string): { token: string; expiresInSeconds: number } {
    const payload = Buffer.from(JSON.stringify({ c: clientId, exp: this.now() + this.ttlMs })).toString('base64url');
    const signed = TOKEN_PREFIX + payload;
    return {
      token: `${signed}.${this.sign(signed).toString('base64url')}`,
      expiresInSeconds: Math.ceil(this.ttlMs / 1000),
    };
  }

  /** True for a token this issuer signed that has not expired and whose client is still configured. */
  verify(token: string): boolean {
    if (token.length > MAX_TOKEN_LENGTH || !token.startsWith(TOKEN_PREFIX)) return false;
    const dot = token.lastIndexOf('.');
    if (dot <= TOKEN_PREFIX.length) return false;
    const signed = token.slice(0, dot);
    const sig = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = this.sign(signed);
    if (sig.length !== expected.length || !timingSafeEqual(sig, expected)) return false;
    try {
      const payload = JSON.parse(Buffer.from(signed.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8')) as {
        c?: unknown;
        exp?: unknown;
      };
      return (
        typeof payload.exp === 'number' &&
        payload.exp > this.now() &&
        typeof payload.c === 'string' &&
        this.clients.has(payload.c)
      );
    } catch {
      return false;
    }
  }

  private sign(data: string): Buffer {
    return createHmac('sha256', this.key).update(data).digest();
  }
}

/** Digest compared against when a client id is unknown, so that case takes as long as a wrong secret. */
const UNKNOWN_CLIENT = digest(randomBytes(32));

const NO_STORE = 'no-store';
const CLIENT_CHALLENGE = 'Basic realm="hookroute"';
export const TOKEN_RESPONSE_HEADERS = { 'Cache-Control': NO_STORE, Pragma: 'no-cache' } as const;

function fail(error: ErrorCode, status: number, message: string, challenge?: string): TokenResponse {
  return { status, error, body: JSON.stringify({ error, message }), ...(challenge ? { challenge } : {}) };
}

/**
 * Client id and secret candidates from `Authorization: Basic ...`, or undefined. RFC 6749 2.3.1 says both parts are
 * form-urlencoded first, but many clients (curl -u, most HTTP libraries) send them raw, and a secret from
 * `openssl rand -base64` holds `+` and `/`: so the decoded form is tried first, then the raw one.
 */
function basicCredentials(authorization: string): { id: string; secret: string }[] | undefined {
  const m = /^basic\s+(\S+)\s*$/i.exec(authorization);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const raw = { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
  try {
    const unform = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    const form = { id: unform(raw.id), secret: unform(raw.secret) };
    return form.id === raw.id && form.secret === raw.secret ? [raw] : [form, raw];
  } catch {
    return [raw];
  }
}

/**
 * Answer `POST /oauth/token`: client credentials grant, client authenticated by Basic header or by
 * `client_id`/`client_secret` form fields.
 *
 * @example
 * handleTokenRequest(issuer, 'Basic aXRlcmFibGU6czNjcmV0', 'application/x-www-form-urlencoded', Buffer.from('grant_type=client_credentials'))
 * // { status: 200, body: '{"access_token":"hr1....","token_type":"Bearer","expires_in":3600}' }
 */
export function handleTokenRequest(
  issuer: TokenIssuer,
  authorization: string,
  contentType: string,
  body: Buffer,
): TokenResponse {
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(contentType.trim())) {
    return fail('invalid_request', 400, 'Token requests must be application/x-www-form-urlencoded.');
  }
  const form = new URLSearchParams(body.toString('utf8'));
  const basic = authorization === '' ? undefined : basicCredentials(authorization);
  const formId = form.get('client_id');
  const formSecret = form.get('client_secret');
  // RFC 6749 2.3: a client must not use more than one authentication method per request.
  if (basic && formSecret !== null)
    return fail('invalid_request', 400, 'Use either HTTP Basic or form fields for client authentication, not both.');
  const candidates =
    basic ?? (formId !== null && formSecret !== null ? [{ id: formId, secret: formSecret }] : undefined);
  // Every 401 carries a challenge (the product contract), not only the Basic ones RFC 6749 5.2 requires it for.
  if (!candidates) return fail('invalid_client', 401, 'Client authentication is missing.', CLIENT_CHALLENGE);
  const creds = candidates.find((c) => issuer.authenticateClient(c.id, c.secret));
  if (!creds) return fail('invalid_client', 401, 'Client authentication failed.', CLIENT_CHALLENGE);
  const grant = form.get('grant_type');
  if (grant === null) return fail('invalid_request', 400, 'grant_type is required.');
  if (grant !== 'client_credentials')
    return fail('unsupported_grant_type', 400, 'Only grant_type=client_credentials is supported.');
  const { token, expiresInSeconds } = issuer.issue(creds.id);
  return {
    status: 200,
    body: JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: expiresInSeconds }),
  };
}
