import { describe, expect, it } from 'vitest';
import { decodeBase64, decodeBase64Url, encodeBase64, encodeBase64Url } from '../../core/base64';
import { bytesToHex } from '../../core/utf8';

describe('unpadded base64', () => {
  it('round-trips all lengths without padding', () => {
    for (let n = 0; n < 40; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n * 11) & 0xff);
      const std = encodeBase64(bytes);
      const url = encodeBase64Url(bytes);
      expect(std).not.toContain('=');
      expect(std).toBe(Buffer.from(bytes).toString('base64').replace(/=+$/, ''));
      expect(url).toBe(Buffer.from(bytes).toString('base64url'));
      expect(decodeBase64(std)).toEqual(bytes);
      expect(decodeBase64Url(url)).toEqual(bytes);
    }
  });
  it('accepts the spec seed with non-zero padding bits', () => {
    const a = decodeBase64('YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1');
    const b = decodeBase64('YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0');
    expect(bytesToHex(a)).toBe('6090c103d5e7af6b15a970fd563ed75549e6159719ae5c3c31dee4316fb75c0d');
    expect(a).toEqual(b);
  });
  it('accepts correct padding', () => {
    expect(decodeBase64('YQ==')).toEqual(Uint8Array.of(0x61));
    expect(decodeBase64('YWI=')).toEqual(Uint8Array.of(0x61, 0x62));
    expect(decodeBase64Url('-_8=')).toEqual(Uint8Array.of(0xfb, 0xff));
  });
  it('is strict about alphabet and length', () => {
    expect(() => decodeBase64('ab-_')).toThrow(TypeError);
    expect(() => decodeBase64Url('ab+/')).toThrow(TypeError);
    expect(() => decodeBase64('abcde')).toThrow(TypeError);
    expect(() => decodeBase64('YQ=')).toThrow(TypeError);
    expect(() => decodeBase64('Y Q')).toThrow(TypeError);
    expect(() => decodeBase64('é')).toThrow(TypeError);
  });
});
