/**
 * The /sync token (spec v1.16, Client-Server API "Syncing": `next_batch`, `since`; also the
 * `from`/`to` of `GET /keys/changes`): `s<rooms>_<accountData>_<device>`, one position per
 * stream of the user's object (durable-objects/user). Older forms are still accepted:
 * `s<rooms>_<accountData>` (device position 0) and `s<rooms>` (account data and device from 0).
 */
import type { StreamPositions } from '../../../durable-objects/user/api';
import { MatrixError } from '../../shared/errors';

/** The positions of a sync token, or undefined when it fails to parse. */
export function parseSyncToken(raw: string): StreamPositions | undefined {
  const m = /^s(\d{1,15})(?:_(\d{1,15})(?:_(\d{1,15}))?)?$/.exec(raw);
  return m ? { rooms: Number(m[1]), account_data: Number(m[2] ?? 0), device: Number(m[3] ?? 0) } : undefined;
}

/** A sync token from a request parameter: `400 M_INVALID_PARAM` naming it when malformed. */
export function requireSyncToken(raw: string, name: string): StreamPositions {
  const p = parseSyncToken(raw);
  if (!p) throw new MatrixError(400, 'M_INVALID_PARAM', `Invalid "${name}" token.`);
  return p;
}

export const syncToken = (p: StreamPositions) => `s${p.rooms}_${p.account_data}_${p.device}`;
