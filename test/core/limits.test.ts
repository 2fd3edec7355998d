import { describe, expect, it } from 'vitest';
import { MAX_PDU_BYTES, pduSizeProblem } from '../../core/events/limits';

describe('pduSizeProblem', () => {
  const base = { type: 'm.room.message', sender: '@a:x', room_id: '!r:x', content: { body: '' } };
  it('measures the canonical JSON, in bytes', () => {
    const size = new TextEncoder().encode(JSON.stringify(base)).length;
    const exact = { ...base, content: { body: 'a'.repeat(MAX_PDU_BYTES - size) } };
    expect(pduSizeProblem(exact)).toBeUndefined();
    expect(pduSizeProblem({ ...base, content: { body: 'a'.repeat(MAX_PDU_BYTES - size + 1) } })).toMatch(/65537 bytes/);
    // Multi-byte characters count as their UTF-8 length.
    expect(pduSizeProblem({ ...base, content: { body: 'é'.repeat(MAX_PDU_BYTES / 2) } })).toBeDefined();
  });
  it('limits sender, room_id, state_key, type and event_id to 255 bytes', () => {
    expect(pduSizeProblem({ ...base, state_key: 'k'.repeat(255) })).toBeUndefined();
    expect(pduSizeProblem({ ...base, state_key: 'k'.repeat(256) })).toMatch(/state_key/);
    expect(pduSizeProblem({ ...base, type: 'é'.repeat(128) })).toMatch(/type/);
  });
});
