import { describe, expect, it } from 'vitest';
import {
  isValidEventId, isValidRoomAlias, isValidRoomId, isValidServerName, isValidUserId,
  localpartOf, parseEventId, parseRoomId, parseServerName, parseUserId, serverNameOf, splitServerName,
} from '../../core/ids';

describe('server names', () => {
  it.each(['example.com', 'example.com:8448', 'localhost', '1.2.3.4', '1.2.3.4:1', '[::1]', '[1234:5678::abcd]:65535', 'a-b.c'])('accepts %s', (s) => {
    expect(isValidServerName(s)).toBe(true);
  });
  it.each(['', 'exa mple.com', 'example.com:', 'example.com:0', 'example.com:65536', 'example.com:123456', '[::1', '[::1]x', '[zz::1]', 'ex_ample.com', 'a'.repeat(256)])('rejects %j', (s) => {
    expect(isValidServerName(s)).toBe(false);
  });
  it('splits host and port and names the rule', () => {
    expect(splitServerName('[::1]:8448')).toEqual({ host: '[::1]', port: 8448 });
    expect(splitServerName('example.com')).toEqual({ host: 'example.com', port: undefined });
    expect(() => parseServerName('example.com:99999')).toThrow(/port/);
  });
});

describe('user IDs', () => {
  it('accepts current and historical localparts', () => {
    expect(parseUserId('@alice:example.com')).toBe('@alice:example.com');
    expect(isValidUserId('@a.b_c=d-e/f+g:example.com:8448', { strict: true })).toBe(true);
    expect(isValidUserId('@Alice!:example.com')).toBe(true);
    expect(isValidUserId('@Alice!:example.com', { strict: true })).toBe(false);
    expect(() => parseUserId('@Alice:example.com', { strict: true })).toThrow(/a-z 0-9/);
  });
  it('rejects bad sigils, empty/invalid localparts, bad servers and > 255 bytes', () => {
    expect(() => parseUserId('alice:example.com')).toThrow(/"@"/);
    expect(() => parseUserId('@:example.com')).toThrow(/empty/);
    expect(() => parseUserId('@al ice:example.com')).toThrow(/printable/);
    expect(() => parseUserId('@alice')).toThrow(/":"/);
    expect(() => parseUserId('@alice:exa mple')).toThrow(/server/);
    expect(() => parseUserId('@' + 'a'.repeat(250) + ':ex.com')).toThrow(/255/);
    expect(isValidUserId(42)).toBe(false);
  });
  it('exposes localpart and server name', () => {
    const u = parseUserId('@bob:[::1]:8448');
    expect(localpartOf(u)).toBe('bob');
    expect(serverNameOf(u)).toBe('[::1]:8448');
  });
});

describe('room IDs and aliases', () => {
  it('accepts v1-v11 and v12 room IDs', () => {
    expect(isValidRoomId('!abc:example.com')).toBe(true);
    expect(isValidRoomId('!b3tOUX8xQBm1sCO5nM3_29t9zsIqsOly2d6sLXXi2Ps')).toBe(true);
    expect(isValidRoomId('!b3tOUX8xQBm1sCO5nM3_29t9zsIqsOly2d6sLXXi2P')).toBe(false);
    expect(isValidRoomId('!b3tOUX8xQBm1sCO5nM3/29t9zsIqsOly2d6sLXXi2Ps')).toBe(false);
    expect(() => parseRoomId('#abc:example.com')).toThrow(/"!"/);
    expect(isValidRoomAlias('#room:example.com')).toBe(true);
    expect(isValidRoomAlias('#:example.com')).toBe(false);
  });
});

describe('event IDs', () => {
  const v3 = '$RrGxF28UrHLmoASHndYb9Jb/1SFww2ptmtur9INS438';
  const v4 = '$RrGxF28UrHLmoASHndYb9Jb_1SFww2ptmtur9INS438';
  it('accepts each format, and only that format when asked', () => {
    expect(isValidEventId('$yvN1b43rlmcOs5fY:localhost', 'event_id_field')).toBe(true);
    expect(isValidEventId(v3, 'reference_hash_base64')).toBe(true);
    expect(isValidEventId(v4, 'reference_hash_url_safe_base64')).toBe(true);
    expect(isValidEventId(v3, 'reference_hash_url_safe_base64')).toBe(false);
    expect(isValidEventId(v4, 'reference_hash_base64')).toBe(false);
    expect(isValidEventId(v4, 'event_id_field')).toBe(false);
    expect(isValidEventId(v3)).toBe(true);
    expect(isValidEventId(v4)).toBe(true);
    expect(() => parseEventId('$short')).toThrow(/43/);
    expect(() => parseEventId('abc')).toThrow(/"\$"/);
  });
});
