/**
 * Ed25519 via WebCrypto (`crypto.subtle`, algorithm "Ed25519"), the fast path
 * on Workers. This is the ONLY core/ module allowed to touch global Web APIs.
 * Seeds are imported as PKCS#8 (RFC 8410: a fixed 16-byte DER header followed
 * by the 32-byte seed); public keys as "raw". Imported CryptoKeys are cached
 * in bounded LRU maps because importKey dominates the cost of one operation.
 * Verification applies the shared precheck first, see ./ed25519.
 */
import { assertMessage, assertSeed, strictVerifyPrecheck, type Ed25519 } from './ed25519';

/** RFC 8410 PrivateKeyInfo header for an Ed25519 seed (OID 1.3.101.112). */
const PKCS8_PREFIX = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20);
const ALG = { name: 'Ed25519' } as const;

/** Options for {@link createWebCryptoEd25519}. */
export type WebCryptoEd25519Options = {
  /** SubtleCrypto to use; defaults to the global `crypto.subtle`. */
  subtle?: SubtleCrypto;
  /** Maximum cached keys per cache (private and public). Default 256. */
  maxCachedKeys?: number;
};

class LruCache<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  delete(key: string): void {
    this.map.delete(key);
  }
  set(key: string, v: V): void {
    this.map.delete(key);
    this.map.set(key, v);
    while (this.map.size > this.max) {
      const oldest = this.map.keys().next();
      if (oldest.done === true) break;
      this.map.delete(oldest.value);
    }
  }
}

function copy(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

function keyOf(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

function base64UrlToBytes(s: string): Uint8Array {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** Creates the WebCrypto implementation of the port. */
export function createWebCryptoEd25519(options: WebCryptoEd25519Options = {}): Ed25519 {
  const subtle = options.subtle ?? crypto.subtle;
  const max = options.maxCachedKeys ?? 256;
  if (!Number.isInteger(max) || max < 1) throw new RangeError('maxCachedKeys must be a positive integer');
  // Cached promises so concurrent callers share one import.
  const privateKeys = new LruCache<Promise<CryptoKey>>(max);
  const publicKeys = new LruCache<Promise<CryptoKey>>(max);

  function privateKey(seed: Uint8Array): Promise<CryptoKey> {
    const k = keyOf(seed);
    let p = privateKeys.get(k);
    if (p === undefined) {
      const der = new Uint8Array(PKCS8_PREFIX.length + 32);
      der.set(PKCS8_PREFIX);
      der.set(seed, PKCS8_PREFIX.length);
      // Extractable so publicKey() can read the JWK "x" member.
      p = subtle.importKey('pkcs8', der, ALG, true, ['sign']);
      // A failed import must not stay cached.
      p.catch(() => privateKeys.delete(k));
      privateKeys.set(k, p);
    }
    return p;
  }

  function publicCryptoKey(pub: Uint8Array): Promise<CryptoKey> {
    const k = keyOf(pub);
    let p = publicKeys.get(k);
    if (p === undefined) {
      p = subtle.importKey('raw', copy(pub), ALG, false, ['verify']);
      p.catch(() => publicKeys.delete(k));
      publicKeys.set(k, p);
    }
    return p;
  }

  return {
    async sign(seed, msg) {
      assertSeed(seed);
      assertMessage(msg);
      const key = await privateKey(seed);
      return new Uint8Array(await subtle.sign(ALG, key, copy(msg)));
    },
    async verify(pub, msg, sig) {
      if (!strictVerifyPrecheck(pub, msg, sig)) return false;
      try {
        const key = await publicCryptoKey(pub);
        return await subtle.verify(ALG, key, copy(sig), copy(msg));
      } catch {
        return false;
      }
    },
    async publicKey(seed) {
      assertSeed(seed);
      // exportKey's declared result differs between lib.dom and workers-types; narrow at runtime.
      const jwk: unknown = await subtle.exportKey('jwk', await privateKey(seed));
      const x = typeof jwk === 'object' && jwk !== null && 'x' in jwk ? jwk.x : undefined;
      if (typeof x !== 'string') throw new TypeError('WebCrypto did not return the Ed25519 public key');
      return base64UrlToBytes(x);
    },
  };
}

let shared: Ed25519 | undefined;
/** Shared WebCrypto instance over the global `crypto.subtle`, created on first use. */
export const webCryptoEd25519: Ed25519 = {
  sign: (seed, msg) => (shared ??= createWebCryptoEd25519()).sign(seed, msg),
  verify: (pub, msg, sig) => (shared ??= createWebCryptoEd25519()).verify(pub, msg, sig),
  publicKey: (seed) => (shared ??= createWebCryptoEd25519()).publicKey(seed),
};
