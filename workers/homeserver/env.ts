/** Bindings and per-request variables of the homeserver worker. */
import type { HomeserverConfig, HomeserverVars } from '../shared/config';

export interface HomeserverBindings extends HomeserverVars {
  /** Room objects; reach them through `roomApi()`. */
  ROOM: DurableObjectNamespace;
  /** User objects (account, devices, token hashes); reach them through `userApi()`. */
  USER: DurableObjectNamespace;
  /** The one Directory object (room aliases, published rooms, user directory); reach it through `directoryApi()`. */
  DIRECTORY: DurableObjectNamespace;
  /** One ServerKeys object per remote server name (its fetched signing keys); see workers/shared/server-keys.ts. */
  SERVER_KEYS: DurableObjectNamespace;
  /** One RemoteServer object per destination server name (its outbound transaction queue); reach it through `remoteServerApi()`. */
  REMOTE_SERVER: DurableObjectNamespace;
  /** The event → room index of rooms shared with other servers, sharded by event ID; reach it through `eventIndexApi()`. */
  EVENT_INDEX: DurableObjectNamespace;
  /** One UserKeys object per local user (their end-to-end encryption keys); reach it through `userKeysApi()`. */
  USER_KEYS: DurableObjectNamespace;
  /** One KeyBackup object per local user (their server-side key backups); reach it through `keyBackupApi()`. */
  KEY_BACKUP: DurableObjectNamespace;
}

export interface HomeserverEnv {
  Bindings: HomeserverBindings;
  /** `origin`: the server a federation request came from, set by `requireServerAuth()`. */
  Variables: { config: HomeserverConfig; origin?: string };
}
