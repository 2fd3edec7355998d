/**
 * Ed25519 port (spec appendix "Signing JSON": Matrix signs with ed25519,
 * RFC 8032 "pure" Ed25519, seed = the 32-byte private key).
 *
 * VERIFICATION STRICTNESS (both adapters MUST agree, so it is decided here):
 * we use RFC 8032 §5.1.7 strict decoding plus libsodium-style hardening, not
 * ZIP215. Before any library is called, {@link strictVerifyPrecheck} rejects:
 *   - wrong lengths (public key ≠ 32 bytes, signature ≠ 64 bytes) → false;
 *   - non-canonical S (S ≥ L, the group order; RFC 8032 §5.1.7 step 1);
 *   - non-canonical encodings of A or R (y ≥ p);
 *   - small-order public keys A (the 8 torsion points, any sign bit). Checked
 *     on Node 20: WebCrypto (OpenSSL) accepts A = R = identity, S = 0 as a
 *     valid signature of ANY message, and also imports non-canonical keys,
 *     while @noble/ed25519 `{ zip215: false }` rejects both.
 * Then WebCrypto (BoringSSL in workerd, OpenSSL in Node: cofactorless check)
 * or @noble/ed25519 with `{ zip215: false }` (cofactored check) runs. The
 * only remaining theoretical divergence is a deliberately crafted signature
 * using a mixed-order (torsion-containing) A or R, which no honest signer can
 * produce; this is documented rather than patched with our own point maths.
 */

/** Signing/verification port; implementations: WebCrypto and @noble/ed25519. */
export interface Ed25519 {
  /** Signs `msg` with a 32-byte RFC 8032 seed; returns the 64-byte signature. */
  sign(seed32: Uint8Array, msg: Uint8Array): Promise<Uint8Array>;
  /** Strict verification (see module comment); never throws on malformed input, returns false. */
  verify(pub32: Uint8Array, msg: Uint8Array, sig64: Uint8Array): Promise<boolean>;
  /** The 32-byte public key of a seed. */
  publicKey(seed32: Uint8Array): Promise<Uint8Array>;
}

/** Length of seeds and public keys. */
export const ED25519_KEY_LENGTH = 32;
/** Length of signatures. */
export const ED25519_SIGNATURE_LENGTH = 64;

/** Throws RangeError unless `seed` is a 32-byte Uint8Array. */
export function assertSeed(seed: Uint8Array): void {
  if (!(seed instanceof Uint8Array)) throw new TypeError('ed25519 seed must be a Uint8Array');
  if (seed.length !== ED25519_KEY_LENGTH) throw new RangeError(`ed25519 seed must be 32 bytes, got ${seed.length}`);
}

/** Throws TypeError unless `msg` is a Uint8Array. */
export function assertMessage(msg: Uint8Array): void {
  if (!(msg instanceof Uint8Array)) throw new TypeError('ed25519 message must be a Uint8Array');
}

// Group order L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const L_LE = hex('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010');
// y coordinates (little-endian, sign bit cleared) of the 8 small-order points:
// identity (y=1), order 2 (y=p-1), order 4 (y=0), order 8 (y=±y8).
const SMALL_ORDER_Y = [
  hex('0000000000000000000000000000000000000000000000000000000000000000'),
  hex('0100000000000000000000000000000000000000000000000000000000000000'),
  hex('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'),
  hex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'),
  hex('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05'),
];

function hex(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Compares two little-endian 32-byte integers. */
function compareLE(a: Uint8Array, b: Uint8Array): number {
  for (let i = 31; i >= 0; i--) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

/** y ≥ p = 2^255 − 19, i.e. a non-canonical point encoding. */
function isNonCanonicalPoint(enc: Uint8Array): boolean {
  if (((enc[31] as number) & 0x7f) !== 0x7f) return false;
  for (let i = 30; i >= 1; i--) if (enc[i] !== 0xff) return false;
  return (enc[0] as number) >= 0xed;
}

function isSmallOrderEncoding(enc: Uint8Array): boolean {
  const y = enc.slice(0, 32);
  y[31] = (y[31] as number) & 0x7f;
  return SMALL_ORDER_Y.some((s) => compareLE(s, y) === 0);
}

/**
 * The shared strictness gate: true when the inputs may be passed to the
 * underlying library, false when the signature must be rejected outright.
 */
export function strictVerifyPrecheck(pub: unknown, msg: unknown, sig: unknown): boolean {
  if (!(pub instanceof Uint8Array) || !(sig instanceof Uint8Array) || !(msg instanceof Uint8Array)) return false;
  if (pub.length !== ED25519_KEY_LENGTH || sig.length !== ED25519_SIGNATURE_LENGTH) return false;
  const r = sig.subarray(0, 32);
  const s = sig.subarray(32, 64);
  if (compareLE(s, L_LE) >= 0) return false;
  if (isNonCanonicalPoint(pub) || isNonCanonicalPoint(r)) return false;
  if (isSmallOrderEncoding(pub)) return false;
  return true;
}
