/**
 * The user a login or `m.login.password` auth dict names (spec: "Identifier types"): the
 * `identifier` object of type `m.id.user`, or the deprecated top-level `user` field. Either
 * holds a full user ID or a localpart of this server.
 */
import type { JsonObject } from '../../../core/canonical-json';
import { isValidUserId, localpartOf, serverNameOf, type UserId } from '../../../core/ids';
import { optionalObject, optionalString } from '../../shared/body';
import { MatrixError } from '../../shared/errors';

export function identifiedUser(body: JsonObject, serverName: string): string {
  const identifier = optionalObject(body, 'identifier');
  let user: string | undefined;
  if (identifier) {
    const type = optionalString(identifier, 'type');
    if (type !== 'm.id.user') throw new MatrixError(400, 'M_UNKNOWN', `Unsupported identifier type ${JSON.stringify(type)}.`);
    user = optionalString(identifier, 'user');
  } else {
    user = optionalString(body, 'user');
  }
  if (user === undefined) throw new MatrixError(400, 'M_MISSING_PARAM', 'No user identifier given.');
  const userId = user.startsWith('@') ? user : `@${user}:${serverName}`;
  // Local user IDs are registered lower-case (register.ts), so matching is case-insensitive.
  if (!isValidUserId(userId)) throw new MatrixError(403, 'M_FORBIDDEN', 'Invalid username or password');
  if (serverNameOf(userId) !== serverName) throw new MatrixError(403, 'M_FORBIDDEN', 'Invalid username or password');
  return `@${localpartOf(userId as UserId).toLowerCase()}:${serverName}`;
}
