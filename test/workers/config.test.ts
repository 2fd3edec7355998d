/** Configuration is checked as a whole, every problem reported at once. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseHomeserverConfig } from '../../workers/shared/config';

describe('parseHomeserverConfig', () => {
  it('lists every problem together', () => {
    let error: unknown;
    try {
      parseHomeserverConfig({ SERVER_NAME: 'not a server!', PUBLIC_BASEURL: 'ftp://x', KEY_VALIDITY_MS: 'soon' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/SERVER_NAME/);
    expect(problems.join('\n')).toMatch(/SIGNING_KEY is not set/);
    expect(problems.join('\n')).toMatch(/PUBLIC_BASEURL/);
    expect(problems.join('\n')).toMatch(/KEY_VALIDITY_MS/);
  });

  it('rejects a seed of the wrong length', () => {
    expect(() => parseHomeserverConfig({ SERVER_NAME: 'a.b', SIGNING_KEY: 'ed25519 x AAAA' })).toThrow(/32 bytes/);
  });

  it('accepts Synapse-format keys and defaults the rest', () => {
    const config = parseHomeserverConfig({
      SERVER_NAME: 'example.org:8448',
      SIGNING_KEY: 'ed25519 a_bcde YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1',
    });
    expect(config.signingKey.keyId).toBe('ed25519:a_bcde');
    expect(config.signingKey.seed).toHaveLength(32);
    expect(config.publicBaseUrl).toBe('https://example.org:8448');
    expect(config.federationServer).toBe('example.org:8448');
    expect(config.keyValidityMs).toBe(86_400_000);
  });

  it('parses FEDERATION_HOSTS: server names to http(s) base URLs, every bad entry reported', () => {
    const base = { SERVER_NAME: 'a.b', SIGNING_KEY: 'ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0' };
    expect(parseHomeserverConfig(base).federationHosts).toEqual({});
    expect(parseHomeserverConfig({ ...base, FEDERATION_HOSTS: '{"hs2.test":"http://127.0.0.1:18448/","hs3.test:8448":"https://x.test"}' }).federationHosts).toEqual({
      'hs2.test': 'http://127.0.0.1:18448',
      'hs3.test:8448': 'https://x.test',
    });
    const problems = (raw: string) => {
      try {
        parseHomeserverConfig({ ...base, FEDERATION_HOSTS: raw });
      } catch (e) {
        return (e as ConfigError).problems;
      }
      return [];
    };
    expect(problems('not json')).toEqual(['FEDERATION_HOSTS must be a JSON object of server name to base URL']);
    expect(problems('["x"]')).toHaveLength(1);
    expect(problems('{"bad name!":"http://x","ok.test":5,"b.test":"ftp://x"}')).toHaveLength(3);
  });

  it('parses registration: closed by default, open, or token with its tokens', () => {
    const base = { SERVER_NAME: 'a.b', SIGNING_KEY: 'ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0' };
    expect(parseHomeserverConfig(base).registration).toEqual({ mode: 'closed' });
    expect(parseHomeserverConfig({ ...base, REGISTRATION: 'open' }).registration).toEqual({ mode: 'open' });
    expect(parseHomeserverConfig({ ...base, REGISTRATION: 'token', REGISTRATION_TOKENS: 'a1, b.2~' }).registration).toEqual({
      mode: 'token',
      tokens: ['a1', 'b.2~'],
    });
  });

  it('reports every registration problem, never echoing a token', () => {
    let error: unknown;
    try {
      parseHomeserverConfig({ REGISTRATION: 'token', REGISTRATION_TOKENS: 'ok, not ok!' });
    } catch (e) {
      error = e;
    }
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/REGISTRATION_TOKENS entry 2/);
    expect(problems).not.toContain('not ok!');
    expect(() => parseHomeserverConfig({ SERVER_NAME: 'a.b', SIGNING_KEY: 'ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0', REGISTRATION: 'token' })).toThrow(
      /REGISTRATION=token needs REGISTRATION_TOKENS/,
    );
    expect(() => parseHomeserverConfig({ SERVER_NAME: 'a.b', SIGNING_KEY: 'ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0', REGISTRATION: 'yes' })).toThrow(
      /REGISTRATION must be/,
    );
  });
});
