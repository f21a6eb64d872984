// Webhook request authentication for the four `auth.mode`s, in the header forms Iterable really sends; all compares constant-time.
import type { Config } from '../config/schema.ts';
import type { ErrorCode } from '../errors.ts';
import { MAX_JWT_LENGTH, type JwtRefusal, type JwtVerifier } from './jwt-verify.ts';
import type { TokenIssuer } from './oauth.ts';
import { digest, secretMatches } from './secret-compare.ts';
import { tokenKey } from './token-cache.ts';

/** Header values are client-controlled: anything longer than this is refused without hashing. */
const MAX_CREDENTIAL_LENGTH = 4096;
const EMPTY = Buffer.alloc(0);
const TOKEN_SCHEME = /^(bearer|oauth2|token)\s+/i;
const BASIC_SCHEME = /^basic\s+/i;
const BEARER_TOKEN = /^(bearer|oauth2)\s+(\S+)\s*$/i;

/** `true` when the request may pass, else the error code to answer with. */
export type AuthOutcome = true | Extract<ErrorCode, 'unauthorized'> | JwtRefusal;

/** The `WWW-Authenticate` of a 401 for a JWT that did not verify (RFC 6750 section 3.1). */
export const INVALID_TOKEN_CHALLENGE = 'Bearer realm="hookroute", error="invalid_token"';

/** Checks one request's credentials. Header names are lowercase, as uWS `getHeader` wants them. */
export interface Authenticator {
  /** Lowercase name of an extra header to read (token mode's `auth.token.header`), or undefined. */
  readonly extraHeader: string | undefined;
  /** `WWW-Authenticate` value for a 401, or undefined when the mode is `none`. */
  readonly challenge: string | undefined;
  /**
   * Whether the request may pass. `authorization` and `extra` are the raw header values ('' when absent). Synchronous
   * except for a JWT not seen before, whose signature check is a promise (which never rejects).
   */
  check(authorization: string, extra: string): AuthOutcome | Promise<AuthOutcome>;
}

const refused = (ok: boolean): true | 'unauthorized' => ok || 'unauthorized';

function stripScheme(value: string, scheme: RegExp): string {
  const m = scheme.exec(value);
  return m ? value.slice(m[0].length).trim() : value.trim();
}

/**
 * Build the authenticator for `auth`. Throws when the mode's settings are missing.
 *
 * - `basic`: `Basic base64(user:pass)`, or the raw token Iterable may send without the scheme (`base64(user:pass)` or `user:pass`).
 * - `token`: `Bearer X`, `OAuth2 X`, bare `X`, or the custom header.
 * - `oauth2`: `Bearer`/`OAuth2` tokens that `issuer` signed and that have not expired, or JWTs that `jwt` verifies.
 *
 * @example
 * const auth = createAuthenticator(config.auth, issuer, jwt);
 * const outcome = auth.check(req.getHeader('authorization'), auth.extraHeader ? req.getHeader(auth.extraHeader) : '');
 * if (outcome !== true && !(outcome instanceof Promise)) reply401(outcome, auth.challenge);
 */
export function createAuthenticator(auth: Config['auth'], issuer?: TokenIssuer, jwt?: JwtVerifier): Authenticator {
  switch (auth.mode) {
    case 'none':
      return { extraHeader: undefined, challenge: undefined, check: () => true };
    case 'basic': {
      if (!auth.basic) throw new Error('auth.mode is basic but auth.basic {username, password} is missing');
      const expected = digest(`${auth.basic.username}:${auth.basic.password}`);
      return {
        extraHeader: undefined,
        challenge: 'Basic realm="hookroute"',
        check(authorization) {
          if (authorization === '' || authorization.length > MAX_CREDENTIAL_LENGTH) return 'unauthorized';
          const token = stripScheme(authorization, BASIC_SCHEME);
          // Node's base64 decoder skips junk; only a canonical encoding counts (the check looks at client input only).
          let decoded = Buffer.from(token, 'base64');
          if (decoded.toString('base64') !== token) decoded = EMPTY;
          // Both forms are always compared (no short circuit) so timing does not tell which one was close.
          const asBase64 = secretMatches(decoded, expected);
          const asRaw = secretMatches(token, expected);
          return refused(asBase64 || asRaw);
        },
      };
    }
    case 'token': {
      if (!auth.token) throw new Error('auth.mode is token but auth.token {value} is missing');
      const expected = digest(auth.token.value);
      const header = auth.token.header?.toLowerCase();
      const extraHeader = header && header !== 'authorization' ? header : undefined;
      return {
        extraHeader,
        challenge: 'Bearer realm="hookroute"',
        check(authorization, extra) {
          let ok = false;
          if (authorization !== '' && authorization.length <= MAX_CREDENTIAL_LENGTH) {
            // The whole value too: a configured token may itself contain a space.
            const stripped = secretMatches(stripScheme(authorization, TOKEN_SCHEME), expected);
            const whole = secretMatches(authorization, expected);
            ok = stripped || whole;
          }
          if (extraHeader && extra !== '' && extra.length <= MAX_CREDENTIAL_LENGTH) {
            const custom = secretMatches(extra.trim(), expected);
            ok = ok || custom;
          }
          return refused(ok);
        },
      };
    }
    case 'oauth2': {
      if (!issuer && !jwt) throw new Error('auth.mode is oauth2 but auth.oauth2 has neither clients nor jwt');
      return {
        extraHeader: undefined,
        challenge: 'Bearer realm="hookroute"',
        check(authorization) {
          const m = BEARER_TOKEN.exec(authorization);
          if (m === null) return 'unauthorized';
          const token = m[2]!;
          // Either verifier may accept; the built-in one is a cheap HMAC check, so it goes first.
          if (issuer?.verify(token)) return true;
          if (!jwt) return 'unauthorized';
          if (token.length > MAX_JWT_LENGTH) return 'token_malformed';
          const key = tokenKey(token);
          return jwt.cached(key) ?? jwt.verify(token, key);
        },
      };
    }
  }
}
