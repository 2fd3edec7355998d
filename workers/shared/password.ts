/**
 * Password hashing: PBKDF2-HMAC-SHA256 over WebCrypto, with a random 16-byte salt and 100,000
 * iterations, stored as a self-describing PHC-style string
 * `$pbkdf2-sha256$i=<iterations>$<base64 salt>$<base64 hash>` (unpadded standard base64).
 *
 * Why PBKDF2 and not argon2/bcrypt: it is the only password hash WebCrypto offers, so it runs
 * natively in workerd (no WASM, no CPU-heavy JS), and 100,000 is the most iterations the Workers
 * runtime accepts. The iteration count is part of the stored string, so it can be raised later
 * without invalidating stored hashes. Comparison is constant-time over the derived bytes.
 */
import { decodeBase64, encodeBase64 } from '../../core/base64';

export const PBKDF2_ITERATIONS = 100_000;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
const FORMAT = /^\$pbkdf2-sha256\$i=([0-9]{1,7})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

async function derive(password: string, salt: Uint8Array, iterations: number, length: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, key, length * 8);
  return new Uint8Array(bits);
}

/** True when `a` and `b` are equal, in time that depends only on their lengths. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/**
 * Hash a password for storage.
 * @param password the password as given (any string; not normalised)
 * @returns the self-describing hash string
 * @throws TypeError when `password` is not a string
 */
export async function hashPassword(password: string): Promise<string> {
  if (typeof password !== 'string') throw new TypeError('password must be a string');
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await derive(password, salt, PBKDF2_ITERATIONS, HASH_BYTES);
  return `$pbkdf2-sha256$i=${PBKDF2_ITERATIONS}$${encodeBase64(salt)}$${encodeBase64(hash)}`;
}

/**
 * Check a password against a stored hash string.
 * @returns false for a wrong password and for a stored string this module cannot read
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (typeof password !== 'string' || typeof stored !== 'string') return false;
  const m = FORMAT.exec(stored);
  if (!m) return false;
  const iterations = Number(m[1]);
  // Workers refuse more than 100,000 iterations; fewer than 1,000 is not a password hash.
  if (iterations < 1_000 || iterations > PBKDF2_ITERATIONS) return false;
  const salt = decodeBase64(m[2]!);
  const expected = decodeBase64(m[3]!);
  if (salt.length < 8 || expected.length < 16) return false;
  return constantTimeEqual(await derive(password, salt, iterations, expected.length), expected);
}
