// Constant-time secret comparison: both sides are hashed to fixed-length digests, so neither content nor length leaks through timing.
import { createHash, timingSafeEqual } from 'node:crypto';

/** SHA-256 digest of a secret candidate (string as UTF-8, or raw bytes). */
export function digest(value: string | Uint8Array): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Whether `candidate` equals the secret whose digest is `expected`, in time independent of where they differ.
 * @example secretMatches(req.token, digest(config.auth.token.value))
 */
export function secretMatches(candidate: string | Uint8Array, expected: Buffer): boolean {
  return timingSafeEqual(digest(candidate), expected);
}
