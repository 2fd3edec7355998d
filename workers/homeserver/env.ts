/** Bindings and per-request variables of the homeserver worker. */
import type { HomeserverConfig, HomeserverVars } from '../shared/config';

export interface HomeserverBindings extends HomeserverVars {
  /** Room objects; reach them through `roomApi()`. */
  ROOM: DurableObjectNamespace;
  /** User objects (account, devices, token hashes); reach them through `userApi()`. */
  USER: DurableObjectNamespace;
  /** The one Directory object (room aliases, published rooms, user directory); reach it through `directoryApi()`. */
  DIRECTORY: DurableObjectNamespace;
}

export interface HomeserverEnv {
  Bindings: HomeserverBindings;
  Variables: { config: HomeserverConfig };
}
