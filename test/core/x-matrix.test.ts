import { describe, expect, it } from 'vitest';
import { decodeBase64 } from '../../core/base64';
import { encodeCanonicalJson } from '../../core/canonical-json';
import { createNobleEd25519 } from '../../core/crypto/ed25519-noble';
import { signBytes, signingInput } from '../../core/crypto/signing';
import { formatXMatrix, parseXMatrix, receivedSigningObject, requestSigningObject } from '../../core/federation/x-matrix';
import { hexToBytes } from '../../core/utf8';

const seed = hexToBytes('6090c103d5e7af6b15a970fd563ed75549e6159719ae5c3c31dee4316fb75c0d');
const ed = createNobleEd25519();

describe('X-Matrix request authentication', () => {
  it('signs {method, uri, origin, destination, content} and the receiver rebuilds the same bytes', async () => {
    const content = { pdus: [], edus: [{ edu_type: 'm.typing', content: {} }] };
    const signed = requestSigningObject({ method: 'put', uri: '/_matrix/federation/v1/send/1?x=1', origin: 'a.test', destination: 'b.test:8448', content });
    expect(encodeCanonicalJson(signed)).toBe(
      '{"content":{"edus":[{"content":{},"edu_type":"m.typing"}],"pdus":[]},"destination":"b.test:8448","method":"PUT","origin":"a.test","uri":"/_matrix/federation/v1/send/1?x=1"}',
    );
    const sig = await signBytes(signingInput(signed), 'a.test', 'ed25519:1', seed, ed);
    const header = formatXMatrix({ origin: 'a.test', destination: 'b.test:8448', key: 'ed25519:1', sig });
    const parsed = parseXMatrix(header);
    if (!parsed.ok) throw new Error(parsed.error);
    const again = receivedSigningObject('PUT', '/_matrix/federation/v1/send/1?x=1', parsed.auth, 'b.test:8448', content);
    const pub = await ed.publicKey(seed);
    expect(await ed.verify(pub, signingInput(again), decodeBase64(parsed.auth.sig))).toBe(true);
    // The header's destination wins over the receiver's own name; another body breaks the signature.
    const elsewhere = receivedSigningObject('PUT', '/_matrix/federation/v1/send/1?x=1', parsed.auth, 'c.test', content);
    expect(encodeCanonicalJson(elsewhere)).toBe(encodeCanonicalJson(again));
    // A header without destination (servers before v1.3) is checked as addressed to us.
    const { destination: _given, ...withoutDestination } = parsed.auth;
    const noDestination = receivedSigningObject('PUT', '/_matrix/federation/v1/send/1?x=1', withoutDestination, 'c.test', content);
    expect(await ed.verify(pub, signingInput(noDestination), decodeBase64(parsed.auth.sig))).toBe(false);
    const tampered = receivedSigningObject('PUT', '/_matrix/federation/v1/send/1?x=1', parsed.auth, 'b.test:8448', { pdus: [] });
    expect(await ed.verify(pub, signingInput(tampered), decodeBase64(parsed.auth.sig))).toBe(false);
  });

  it('leaves content out of GET requests', () => {
    expect(requestSigningObject({ method: 'GET', uri: '/_matrix/federation/v1/version', origin: 'a', destination: 'b' })).toEqual({
      method: 'GET', uri: '/_matrix/federation/v1/version', origin: 'a', destination: 'b',
    });
  });

  it('parses bare and quoted values, names in any case, unknown parameters, and escapes', () => {
    const r = parseXMatrix('X-Matrix Origin=origin.example.com, DESTINATION="dest.example.com:8448",key="ed25519:key1",sig="AB\\"C",extra=1');
    expect(r).toEqual({ ok: true, auth: { origin: 'origin.example.com', destination: 'dest.example.com:8448', key: 'ed25519:key1', sig: 'AB"C' } });
    const legacy = parseXMatrix('X-Matrix origin=origin.example.com,key="ed25519:key1",sig="ABC"');
    expect(legacy).toEqual({ ok: true, auth: { origin: 'origin.example.com', key: 'ed25519:key1', sig: 'ABC' } });
  });

  it('refuses malformed headers with a reason', () => {
    const bad = [
      'Bearer abc',
      'X-Matrix key="ed25519:a",sig="x"',
      'X-Matrix origin="a.test",key="ed25519:a"',
      'X-Matrix origin="a.test",origin="b.test",key="ed25519:a",sig="x"',
      'X-Matrix origin="a.test",key="ed25519:a",sig="x',
      'X-Matrix origin="bad server!",key="ed25519:a",sig="x"',
      'X-Matrix origin="a.test",destination="",key="ed25519:a",sig="x"',
      'X-Matrix origin="a.test",key="rsa:a",sig="x"',
      'X-Matrix origin="a.test" key="ed25519:a",sig="x"',
    ];
    for (const h of bad) {
      const r = parseXMatrix(h);
      expect(r.ok, h).toBe(false);
      if (!r.ok) expect(r.error.length).toBeGreaterThan(0);
    }
  });
});
