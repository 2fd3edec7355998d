/** Bindings and per-request variables of the homeserver worker. */
import type { HomeserverConfig, HomeserverVars } from '../shared/config';

export type HomeserverBindings = HomeserverVars;

export interface HomeserverEnv {
  Bindings: HomeserverBindings;
  Variables: { config: HomeserverConfig };
}
