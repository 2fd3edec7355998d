/** Both Ed25519 adapters must agree, including on malformed and adversarial inputs. */
import * as ed from '@noble/ed25519';
import { describe, expect, it } from 'vitest';
import { strictVerifyPrecheck, type Ed25519 } from '../../core/crypto/ed25519';
import { createNobleEd25519 } from '../../core/crypto/ed25519-noble';
import { createWebCryptoEd25519 } from '../../core/crypto/ed25519-webcrypto';
import { hexToBytes } from '../../core/utf8';

const impls: Record<string, Ed25519> = { webcrypto: createWebCryptoEd25519({ maxCachedKeys: 2 }), noble: createNobleEd25519() };
const seed = hexToBytes('6090c103d5e7af6b15a970fd563ed75549e6159719ae5c3c31dee4316fb75c0d');
const msg = new TextEncoder().encode('{"one":1,"two":"Two"}');
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;

function le(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}
function fromLe(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = 31; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
}
const concat = (a: Uint8Array, b: Uint8Array) => Uint8Array.from([...a, ...b]);

async function verdicts(pub: Uint8Array, m: Uint8Array, sig: Uint8Array): Promise<boolean[]> {
  return Promise.all(Object.values(impls).map((i) => i.verify(pub, m, sig)));
}

describe('Ed25519 adapters', () => {
  it('derive the spec public key and sign identically', async () => {
    const pubs = await Promise.all(Object.values(impls).map((i) => i.publicKey(seed)));
    expect(Buffer.from(pubs[0]!).toString('base64')).toBe('XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI=');
    expect(pubs[1]).toEqual(pubs[0]);
    const sigs = await Promise.all(Object.values(impls).map((i) => i.sign(seed, msg)));
    expect(sigs[1]).toEqual(sigs[0]);
    expect(Buffer.from(sigs[0]!).toString('base64').replace(/=+$/, '')).toBe('KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw');
  });

  it('reject bad seeds the same way', async () => {
    for (const i of Object.values(impls)) {
      await expect(i.sign(new Uint8Array(31), msg)).rejects.toThrow(RangeError);
      await expect(i.publicKey(new Uint8Array(33))).rejects.toThrow(RangeError);
    }
  });

  it('agree on valid, tampered and malformed signatures', async () => {
    const pub = await impls.noble!.publicKey(seed);
    const sig = await impls.noble!.sign(seed, msg);
    const flipped = sig.slice();
    flipped[5]! ^= 1;
    const s = fromLe(sig.subarray(32));
    const cases: Array<[string, Uint8Array, Uint8Array, Uint8Array, boolean]> = [
      ['valid', pub, msg, sig, true],
      ['other message', pub, new Uint8Array([1, 2, 3]), sig, false],
      ['flipped R bit', pub, msg, flipped, false],
      ['non-canonical S (S + L)', pub, msg, concat(sig.subarray(0, 32), le(s + L)), false],
      ['S = L', pub, msg, concat(sig.subarray(0, 32), le(L)), false],
      ['63-byte signature', pub, msg, sig.subarray(0, 63), false],
      ['65-byte signature', pub, msg, concat(sig, new Uint8Array(1)), false],
      ['31-byte public key', pub.subarray(0, 31), msg, sig, false],
      ['all-zero signature', pub, msg, new Uint8Array(64), false],
      ['non-canonical public key (y = p + 1)', le(P + 1n), msg, sig, false],
      ['non-canonical R (y = p)', pub, msg, concat(le(P), sig.subarray(32)), false],
    ];
    for (const [name, p, m, g, want] of cases) expect(await verdicts(p, m, g), name).toEqual([want, want]);
  });

  it('reject small-order public keys even with a signature OpenSSL would accept', async () => {
    // A = identity, R = identity, S = 0 satisfies the cofactorless equation for every message.
    const identity = le(1n);
    const forged = concat(identity, new Uint8Array(32));
    expect(await verdicts(identity, msg, forged)).toEqual([false, false]);
  });

  it('small-order list matches noble: every listed y is small order, random keys are not', () => {
    const candidates = ['00', '01', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
      '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05'];
    for (const c of candidates) {
      const enc = hexToBytes(c.padEnd(64, '0'));
      for (const sign of [0, 0x80]) {
        const e = enc.slice();
        e[31]! |= sign;
        let smallOrder: boolean;
        try {
          smallOrder = ed.Point.fromBytes(e, true).isSmallOrder();
        } catch {
          continue; // x = 0 points have no sign-bit variant
        }
        expect(smallOrder, c).toBe(true);
        expect(strictVerifyPrecheck(e, msg, new Uint8Array(64)), c).toBe(false);
      }
    }
  });
});
