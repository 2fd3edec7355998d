/** Tells workers-types what the homeserver exports and binds (types `exports` and `env` in tests). */
type EdgeMatrixHomeserverBindings = import('../workers/homeserver/env').HomeserverBindings;

declare namespace Cloudflare {
  interface Env extends EdgeMatrixHomeserverBindings {
    /** Test-only binding (vitest.config.ts): the shared state-resolution vectors. */
    STATE_RES_VECTORS?: unknown;
    /** Test-only binding (vitest.config.ts): each Client-Server operation's auth per the spec. */
    CLIENT_AUTH_SPEC?: Record<string, 'required' | 'optional' | 'none'>;
  }
  interface GlobalProps {
    mainModule: typeof import('../workers/homeserver/index');
  }
}
