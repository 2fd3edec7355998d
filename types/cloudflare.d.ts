/** Tells workers-types what the homeserver exports and binds (types `exports` and `env` in tests). */
type EdgeMatrixHomeserverBindings = import('../workers/homeserver/env').HomeserverBindings;

declare namespace Cloudflare {
  interface Env extends EdgeMatrixHomeserverBindings {
    /** Test-only binding (vitest.config.ts): the shared state-resolution vectors. */
    STATE_RES_VECTORS?: unknown;
  }
  interface GlobalProps {
    mainModule: typeof import('../workers/homeserver/index');
  }
}
