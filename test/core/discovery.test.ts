import { describe, expect, it } from 'vitest';
import { configuredEndpoint, parseWellKnown, resolveWithWellKnown, resolveWithoutWellKnown } from '../../core/federation/discovery';

describe('server discovery without SRV (spec "Resolving server names")', () => {
  it('step 1: IP literals, with or without port, Host is the server name', () => {
    expect(resolveWithoutWellKnown('1.2.3.4')).toEqual({ baseUrl: 'https://1.2.3.4:8448', host: '1.2.3.4' });
    expect(resolveWithoutWellKnown('[::1]:8000')).toEqual({ baseUrl: 'https://[::1]:8000', host: '[::1]:8000' });
  });

  it('step 2: an explicit port skips well-known', () => {
    expect(resolveWithoutWellKnown('example.org:443')).toEqual({ baseUrl: 'https://example.org:443', host: 'example.org:443' });
    expect(resolveWithoutWellKnown('example.org')).toBeUndefined();
  });

  it('steps 3.1, 3.2 and 3.5: delegation through well-known keeps the delegated name as Host', () => {
    expect(resolveWithWellKnown('example.org', { found: true, server: 'matrix.example.org' })).toEqual({ baseUrl: 'https://matrix.example.org:8448', host: 'matrix.example.org' });
    expect(resolveWithWellKnown('example.org', { found: true, server: 'matrix.example.org:443' })).toEqual({ baseUrl: 'https://matrix.example.org:443', host: 'matrix.example.org:443' });
    expect(resolveWithWellKnown('example.org', { found: true, server: '5.6.7.8' })).toEqual({ baseUrl: 'https://5.6.7.8:8448', host: '5.6.7.8' });
  });

  it('step 6: no delegation falls back to port 8448 of the hostname', () => {
    expect(resolveWithWellKnown('example.org', { found: false })).toEqual({ baseUrl: 'https://example.org:8448', host: 'example.org' });
    // Explicit ports never look at well-known, even if the caller has an answer.
    expect(resolveWithWellKnown('example.org:1234', { found: true, server: 'x.org' })).toEqual({ baseUrl: 'https://example.org:1234', host: 'example.org:1234' });
  });

  it('reads well-known bodies, treating anything malformed as no delegation', () => {
    expect(parseWellKnown({ 'm.server': 'matrix.example.org:443' })).toEqual({ found: true, server: 'matrix.example.org:443' });
    for (const body of [null, [], 'x', {}, { 'm.server': 5 }, { 'm.server': 'bad host!' }, { 'm.server': 'a.org:99999' }]) {
      expect(parseWellKnown(body)).toEqual({ found: false });
    }
  });

  it('configured hosts take a base URL verbatim (minus trailing slashes)', () => {
    expect(configuredEndpoint('hs2.test', 'http://127.0.0.1:18448/')).toEqual({ baseUrl: 'http://127.0.0.1:18448', host: 'hs2.test' });
  });
});
