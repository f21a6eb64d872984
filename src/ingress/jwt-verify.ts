// Verifies JWT access tokens from the user's own authorization server (`auth.oauth2.jwt`) with `jose`, and caches the verdicts.
import { errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import type { JwtConfig } from '../config/schema.ts';
import type { ErrorCode } from '../errors.ts';
import type { Logger } from '../log.ts';
import { JwksStore } from './jwks.ts';
import { ExpiringLru, tokenKey } from './token-cache.ts';

/** Why a JWT was refused: a code from the error table (`auth_unavailable` when the keys cannot be had). */
export type JwtRefusal = Extract<ErrorCode, `token_${string}` | 'auth_unavailable'>;
/** `true` when the token verified. */
export type JwtOutcome = true | JwtRefusal;

/** Longest token looked at: identity providers' access tokens stay well under this (Entra ID's are the largest). */
export const MAX_JWT_LENGTH = 8192;
/** Verified tokens remembered (Iterable re-uses one token until it expires, so a few are plenty; the rest is headroom). */
export const MAX_CACHED_TOKENS = 10_000;
/** Refused tokens remembered, and for how long: a sender retrying a bad token costs a lookup, not a signature check. */
const MAX_CACHED_REFUSALS = 10_000;
const REFUSAL_TTL_MS = 60_000;
// Refusals that can turn into acceptance later (a new key, the `nbf` time reached, the JWKS back) are never cached.
const FINAL_REFUSALS = new Set<JwtRefusal>([
  'token_malformed',
  'token_algorithm_refused',
  'token_bad_signature',
  'token_expired',
  'token_wrong_issuer',
  'token_wrong_audience',
  'token_claims_invalid',
]);

export interface JwtVerifierOptions {
  logger: Logger;
  /** Wall-clock milliseconds for `exp`/`nbf`/`iat` (tests move it). */
  now?: () => number;
  /** Monotonic milliseconds for the JWKS's unknown-`kid` cooldown (tests move it). */
  clock?: () => number;
}

/**
 * Checks signature (key by `kid` from the JWKS), `iss`, `aud`, `exp` (required), `nbf` and `iat` with the configured
 * algorithms only. A token seen before is answered from a cache (keyed by its SHA-256, kept until the token expires);
 * concurrent checks of one new token share a single signature check.
 *
 * @example
 * const jwt = new JwtVerifier(config.auth.oauth2.jwt, { logger });
 * await jwt.start();
 * const verdict = jwt.cached(token) ?? (await jwt.verify(token)); // true, or e.g. 'token_expired'
 */
export class JwtVerifier {
  readonly keys: JwksStore;
  private readonly accepted = new ExpiringLru<true>(MAX_CACHED_TOKENS);
  private readonly refused = new ExpiringLru<JwtRefusal>(MAX_CACHED_REFUSALS);
  private readonly pending = new Map<string, Promise<JwtOutcome>>();
  private readonly now: () => number;
  private readonly toleranceSec: number;

  constructor(
    private readonly config: JwtConfig,
    opts: JwtVerifierOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.toleranceSec = Math.ceil(config.clockToleranceMs / 1000);
    this.keys = new JwksStore({
      ...(config.jwksUrl !== undefined ? { url: config.jwksUrl } : {}),
      ...(config.jwksFile !== undefined ? { file: config.jwksFile } : {}),
      logger: opts.logger,
      // A key that left the JWKS may have been withdrawn for a reason: nothing verified with the old set is trusted further.
      onChange: () => this.clearCaches(),
      ...(opts.clock ? { clock: opts.clock } : {}),
    });
  }

  /** Load the keys once (see `JwksStore.start`). */
  start(): Promise<void> {
    return this.keys.start();
  }

  close(): void {
    this.keys.close();
  }

  /** The verdict for a token seen before, or undefined when it has to be verified. `key` is `tokenKey(token)`. */
  cached(key: string): JwtOutcome | undefined {
    const now = this.now();
    return this.accepted.get(key, now) ?? this.refused.get(key, now);
  }

  /** Verify `token` (whose `tokenKey` is `key`) and remember the verdict. Never rejects. */
  verify(token: string, key = tokenKey(token)): Promise<JwtOutcome> {
    if (token.length > MAX_JWT_LENGTH) return Promise.resolve('token_malformed');
    let running = this.pending.get(key);
    if (!running) {
      running = this.check(token, key).finally(() => this.pending.delete(key));
      this.pending.set(key, running);
    }
    return running;
  }

  clearCaches(): void {
    this.accepted.clear();
    this.refused.clear();
  }

  private async check(token: string, key: string, retried = false): Promise<JwtOutcome> {
    let outcome: JwtOutcome;
    try {
      const payload = await this.verifySignatureAndClaims(token);
      outcome = this.extraClaimsRefusal(payload) ?? true;
      // `exp` is required, so every accepted token has an end; the cache keeps it exactly as long as a check would pass it.
      if (outcome === true) this.accepted.set(key, true, (payload.exp! + this.toleranceSec) * 1000);
    } catch (err) {
      outcome = refusalOf(err);
      if (outcome === 'token_unknown_key') {
        if (!retried && (await this.keys.refreshForUnknownKey())) return this.check(token, key, true);
        // Keys that cannot be had are our outage, not the sender's fault: 503 makes Iterable retry later.
        if (!this.keys.loaded || !this.keys.reachable) outcome = 'auth_unavailable';
      }
    }
    if (outcome !== true && FINAL_REFUSALS.has(outcome)) this.refused.set(key, outcome, this.now() + REFUSAL_TTL_MS);
    return outcome;
  }

  private async verifySignatureAndClaims(token: string): Promise<JWTPayload> {
    const options: JWTVerifyOptions = {
      issuer: this.config.issuer,
      audience: this.config.audience,
      algorithms: this.config.algorithms,
      clockTolerance: this.toleranceSec,
      requiredClaims: ['exp'],
      currentDate: new Date(this.now()),
    };
    try {
      return (await jwtVerify(token, this.keys.getKey, options)).payload;
    } catch (err) {
      // A token without `kid` matching several keys: try each (jose leaves that to the caller).
      if (!(err instanceof errors.JWKSMultipleMatchingKeys)) throw err;
      for await (const candidate of err) {
        try {
          return (await jwtVerify(token, candidate, options)).payload;
        } catch (inner) {
          if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
        }
      }
      throw new errors.JWSSignatureVerificationFailed();
    }
  }

  /** `iat` sanity, which jose only checks with `maxTokenAge`: a token issued in the future is not trusted. */
  private extraClaimsRefusal(payload: JWTPayload): JwtRefusal | undefined {
    const nowSec = this.now() / 1000;
    if (payload.iat !== undefined && payload.iat > nowSec + this.toleranceSec) return 'token_claims_invalid';
    if (payload.iat !== undefined && payload.exp! <= payload.iat) return 'token_claims_invalid';
    return undefined;
  }
}

/** The refusal code for an error `jwtVerify` threw. */
function refusalOf(err: unknown): JwtRefusal {
  if (err instanceof errors.JWTExpired) return 'token_expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return 'token_wrong_issuer';
    if (err.claim === 'aud') return 'token_wrong_audience';
    if (err.claim === 'nbf' && err.reason === 'check_failed') return 'token_not_yet_valid';
    return 'token_claims_invalid';
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return 'token_algorithm_refused';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'token_bad_signature';
  if (err instanceof errors.JWKSNoMatchingKey) return 'token_unknown_key';
  // JWSInvalid, JWTInvalid, JOSENotSupported (an unknown `alg` or `crit`), and key material the token cannot use.
  return 'token_malformed';
}
