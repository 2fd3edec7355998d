/** Bindings and per-request variables of the homeserver worker. */
import type { HomeserverConfig, HomeserverVars } from '../shared/config';

export interface HomeserverBindings extends HomeserverVars {
  /** Room objects; reach them through `roomApi()`. */
  ROOM: DurableObjectNamespace;
  /** User objects (account, devices, token hashes); reach them through `userApi()`. */
  USER: DurableObjectNamespace;
}

export interface HomeserverEnv {
  Bindings: HomeserverBindings;
  Variables: { config: HomeserverConfig };
}
