import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

/** Shared vectors that workerd tests replay, handed in as JSON bindings (workerd has no fs). */
const vector = (name: string): unknown => JSON.parse(readFileSync(new URL(`../shared/vectors/${name}`, import.meta.url), 'utf8'));

/**
 * What the spec says about each Client-Server operation's access token, as
 * `"METHOD /_matrix/client/..." -> 'required' | 'optional' | 'none'`, for the route walk test.
 */
function clientAuthSpec(): Record<string, string> {
  type Op = { security?: Record<string, unknown>[] };
  const spec = JSON.parse(readFileSync(new URL('../shared/spec/openapi/client-server.json', import.meta.url), 'utf8')) as {
    paths: Record<string, Record<string, Op>>;
  };
  const out: Record<string, string> = {};
  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const security = op.security ?? [];
      const kind = security.length === 0 ? 'none' : security.some((s) => Object.keys(s).length === 0) ? 'optional' : 'required';
      out[`${method.toUpperCase()} ${path}`] = kind;
    }
  }
  return out;
}

/** The spec's test signing key (Appendix "Cryptographic test vectors"): seed, version 1. */
const TEST_SIGNING_KEY = 'ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'core',
          include: ['test/core/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        plugins: [
          cloudflareTest({
            main: './workers/homeserver/index.ts',
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                SERVER_NAME: 'test.local',
                PUBLIC_BASEURL: 'https://matrix.test.local',
                SIGNING_KEY: TEST_SIGNING_KEY,
                STATE_RES_VECTORS: vector('state_resolution_v2.json'),
                REGISTRATION: 'open',
                CLIENT_AUTH_SPEC: clientAuthSpec(),
              },
            },
          }),
        ],
        test: {
          name: 'workers',
          include: ['test/workers/**/*.test.ts', 'test/durable-objects/**/*.test.ts', 'test/client/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
