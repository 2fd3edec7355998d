/**
 * Ed25519 via @noble/ed25519 v3 (pure JS; used by Node tooling and as a
 * fallback). noble needs a synchronous SHA-512 for its sync API, which we
 * take from @noble/hashes. Verification uses `{ zip215: false }` after the
 * shared precheck, see ./ed25519 for the strictness decision.
 */
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { assertMessage, assertSeed, strictVerifyPrecheck, type Ed25519 } from './ed25519';

ed.hashes.sha512 = sha512;

/** Creates the @noble/ed25519 implementation of the port. */
export function createNobleEd25519(): Ed25519 {
  return {
    // async so that argument errors surface as rejections, as with WebCrypto.
    async sign(seed, msg) {
      assertSeed(seed);
      assertMessage(msg);
      return ed.sign(msg, seed);
    },
    async verify(pub, msg, sig) {
      if (!strictVerifyPrecheck(pub, msg, sig)) return false;
      try {
        return ed.verify(sig, msg, pub, { zip215: false });
      } catch {
        return false;
      }
    },
    async publicKey(seed) {
      assertSeed(seed);
      return ed.getPublicKey(seed);
    },
  };
}

/** Shared @noble/ed25519 instance. */
export const nobleEd25519: Ed25519 = createNobleEd25519();
