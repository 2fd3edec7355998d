/**
 * @module `GET /_matrix/client/v3/capabilities` (spec v1.16, Client-Server API "Capabilities
 * negotiation"): https://spec.matrix.org/v1.16/client-server-api/#capabilities-negotiation
 *
 * What this server lets clients do: change passwords (`POST /account/password`), set display
 * names, avatars and other profile fields (`PUT /profile/...`), but not change 3PIDs (none are
 * kept). Room versions come from the room-version table: the default for new rooms and every
 * version the table knows, each with its stability.
 */
import { Hono } from 'hono';
import type { JsonObject } from '../../../core/canonical-json';
import { ALL_ROOM_VERSIONS, DEFAULT_ROOM_VERSION, getRoomVersionRules } from '../../../core/room-versions';
import { requireAccessToken } from '../../shared/auth';
import type { HomeserverEnv } from '../env';

function roomVersions(): JsonObject {
  const available: JsonObject = {};
  for (const version of ALL_ROOM_VERSIONS) {
    const rules = getRoomVersionRules(version);
    if (rules) available[version] = rules.stability;
  }
  return { default: DEFAULT_ROOM_VERSION, available };
}

export const capabilities = new Hono<HomeserverEnv>().get('/v3/capabilities', requireAccessToken(), (c) =>
  c.json({
    capabilities: {
      'm.change_password': { enabled: true },
      'm.room_versions': roomVersions(),
      'm.set_displayname': { enabled: true },
      'm.set_avatar_url': { enabled: true },
      'm.3pid_changes': { enabled: false },
      // Every profile field may be set (no `allowed`/`disallowed` lists), displayname and avatar_url included.
      'm.profile_fields': { enabled: true },
    },
  }),
);
