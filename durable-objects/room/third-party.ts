/**
 * Third-party-invite verdicts for a received member event, against every
 * `m.room.third_party_invite` the room has stored for its token (computed before the write
 * queue, so the queue never awaits).
 */
import type { JsonObject } from '../../core/canonical-json';
import { thirdPartyKeyVerdicts, thirdPartySigned } from '../../core/auth/third-party-invite';
import { webCryptoEd25519 } from '../../core/crypto/ed25519-webcrypto';
import type { ThirdPartyVerified } from '../../wasm/ops';
import type { RoomStore } from './store';

/** Verdicts for `event` against every `m.room.third_party_invite` the room has for its token. */
export async function thirdPartyVerdicts(
  store: RoomStore,
  eventById: (id: string) => JsonObject | undefined,
  event: JsonObject,
  eventId: string,
): Promise<ThirdPartyVerified> {
  const signed = thirdPartySigned(event);
  if (!signed || typeof signed.token !== 'string') return {};
  const invites = store
    .eventIdsOfState('m.room.third_party_invite', signed.token)
    .map(eventById)
    .filter((e): e is JsonObject => e !== undefined);
  const verified = await thirdPartyKeyVerdicts(event, invites, webCryptoEd25519);
  return verified.length > 0 ? { [eventId]: verified } : {};
}
