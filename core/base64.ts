/**
 * Unpadded Base64 (spec appendix "Unpadded Base64"): RFC 4648 alphabets with
 * the trailing '=' removed. Encoders never pad. Decoders are strict about the
 * alphabet and length but lenient about (a) padding, because some servers
 * send it, and (b) non-zero trailing bits, because the spec's own test seed
 * `YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1` has them (appendix
 * "Cryptographic Test Vectors").
 */

const STD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function reverse(alphabet: string): Int16Array {
  const table = new Int16Array(128).fill(-1);
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
}
const STD_REV = reverse(STD);
const URL_REV = reverse(URL);

function encode(bytes: Uint8Array, alphabet: string): string {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('base64 encode expects a Uint8Array');
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + alphabet[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = (bytes[i] as number) << 16;
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]!;
  } else if (rest === 2) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8);
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]!;
  }
  return out;
}

function decode(text: string, rev: Int16Array, name: string): Uint8Array {
  if (typeof text !== 'string') throw new TypeError(`${name} decode expects a string`);
  let s = text;
  // Accept correct '=' padding (1 or 2 chars, total length a multiple of 4) only.
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  if (pad > 0) {
    if (s.length % 4 !== 0) throw new TypeError(`${name}: padded input length must be a multiple of 4`);
    s = s.slice(0, -pad);
  }
  if (s.length % 4 === 1) throw new TypeError(`${name}: invalid length ${text.length} (a single trailing character encodes no byte)`);
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? (rev[c] as number) : -1;
    if (v < 0) throw new TypeError(`${name}: invalid character ${JSON.stringify(s[i])} at index ${i}`);
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  // Leftover (padding) bits are ignored on purpose, see the module comment.
  return out;
}

/** Unpadded standard Base64 (`+/`). */
export function encodeBase64(bytes: Uint8Array): string {
  return encode(bytes, STD);
}

/** Unpadded URL-safe Base64 (`-_`), used by v4+ event IDs and v12 room IDs. */
export function encodeBase64Url(bytes: Uint8Array): string {
  return encode(bytes, URL);
}

/** Decodes standard Base64, padded or unpadded; throws TypeError on bad alphabet/length. */
export function decodeBase64(text: string): Uint8Array {
  return decode(text, STD_REV, 'base64');
}

/** Decodes URL-safe Base64, padded or unpadded; throws TypeError on bad alphabet/length. */
export function decodeBase64Url(text: string): Uint8Array {
  return decode(text, URL_REV, 'base64url');
}
