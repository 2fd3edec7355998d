/** Tells workers-types what the homeserver's main module exports (types `exports` in tests). */
declare namespace Cloudflare {
  interface GlobalProps {
    mainModule: typeof import('../workers/homeserver/index');
  }
}
