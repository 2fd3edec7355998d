/**
 * The homeserver origin: the Client-Server API, the Server-Server API with the key server, and
 * `/.well-known/matrix/*`, one Hono router per API surface.
 */
import { createApp } from '../shared/app';
import { homeserverConfig } from '../shared/config';
import type { HomeserverEnv } from './env';
import { account } from './client/account';
import { accountData } from './client/account-data';
import { capabilities } from './client/capabilities';
import { devices } from './client/devices';
import { directory } from './client/directory';
import { eventContext } from './client/event-context';
import { filters } from './client/filters';
import { joinedRooms } from './client/joined-rooms';
import { keys } from './client/keys';
import { keyBackup } from './client/key-backup';
import { knockForget } from './client/knock-forget';
import { login } from './client/login';
import { messages } from './client/messages';
import { profile } from './client/profile';
import { publicRoomsRoutes } from './client/public-rooms';
import { hierarchyRoutes } from './client/hierarchy';
import { openId } from './client/openid';
import { presence } from './client/presence';
import { pushRules } from './client/push-rules';
import { register } from './client/register';
import { relationsRoutes } from './client/relations';
import { reports } from './client/reports';
import { roomEvents } from './client/room-events';
import { roomState } from './client/room-state';
import { roomUpgrade } from './client/room-upgrade';
import { rooms } from './client/rooms';
import { sync } from './client/sync';
import { typingReceipts } from './client/typing-receipts';
import { timestampToEvent } from './client/timestamp-to-event';
import { toDevice } from './client/to-device';
import { userDirectory } from './client/user-directory';
import { clientVersions } from './client/versions';
import { federationVersion } from './federation/version';
import { keyServer } from './federation/keys';
import { federationMembership } from './federation/membership';
import { federationQuery } from './federation/query';
import { federationDirectory } from './federation/directory';
import { federationUsers } from './federation/users';
import { federationSend } from './federation/send';
import { federationEvents } from './federation/events';
import { federationInvite } from './federation/invite';
import { federationEvent } from './federation/event';
import { wellKnown } from './well-known';

const app = createApp<HomeserverEnv>();

// Parse configuration once per isolate; a broken config fails every request with M_UNKNOWN and
// the full problem list in the log, instead of half-working.
app.use('*', async (c, next) => {
  c.set('config', homeserverConfig(c.env));
  await next();
});

app.route('/.well-known/matrix', wellKnown);
app.route('/_matrix/client', clientVersions);
app.route('/_matrix/client', register);
app.route('/_matrix/client', login);
app.route('/_matrix/client', account);
app.route('/_matrix/client', devices);
app.route('/_matrix/client', rooms);
app.route('/_matrix/client', knockForget);
app.route('/_matrix/client', roomUpgrade);
app.route('/_matrix/client', roomEvents);
app.route('/_matrix/client', roomState);
app.route('/_matrix/client', messages);
app.route('/_matrix/client', eventContext);
app.route('/_matrix/client', relationsRoutes);
app.route('/_matrix/client', timestampToEvent);
app.route('/_matrix/client', reports);
app.route('/_matrix/client', typingReceipts);
app.route('/_matrix/client', sync);
app.route('/_matrix/client', toDevice);
app.route('/_matrix/client', filters);
app.route('/_matrix/client', accountData);
app.route('/_matrix/client', profile);
app.route('/_matrix/client', presence);
app.route('/_matrix/client', joinedRooms);
app.route('/_matrix/client', capabilities);
app.route('/_matrix/client', pushRules);
app.route('/_matrix/client', directory);
app.route('/_matrix/client', publicRoomsRoutes);
app.route('/_matrix/client', userDirectory);
app.route('/_matrix/client', hierarchyRoutes);
app.route('/_matrix/client', openId);
app.route('/_matrix/client', keys);
app.route('/_matrix/client', keyBackup);
app.route('/_matrix/federation', federationVersion);
app.route('/_matrix/federation', federationMembership);
app.route('/_matrix/federation', federationQuery);
app.route('/_matrix/federation', federationDirectory);
app.route('/_matrix/federation', federationUsers);
app.route('/_matrix/federation', federationSend);
app.route('/_matrix/federation', federationEvents);
app.route('/_matrix/federation', federationInvite);
app.route('/_matrix/federation', federationEvent);
app.route('/_matrix/key', keyServer);

export default app;
export { Room } from '../../durable-objects/room/room';
export { User } from '../../durable-objects/user/user';
export { ServerKeys } from '../../durable-objects/server-keys/server-keys';
export { Directory } from '../../durable-objects/directory/directory';
export { RemoteServer } from '../../durable-objects/remote-server/remote-server';
export { EventIndex } from '../../durable-objects/event-index/event-index';
export { UserKeys } from '../../durable-objects/user-keys/user-keys';
export { KeyBackup } from '../../durable-objects/key-backup/key-backup';
