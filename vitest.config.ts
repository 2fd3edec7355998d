import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { readFileSync } from 'node:fs';
import { configDefaults, defineConfig } from 'vitest/config';

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

/** Runs in its own workers project with low rate limits (see below). */
const RATE_LIMIT_TEST = 'test/client/rate-limit.test.ts';

/** The spec's test signing key (Appendix "Cryptographic test vectors"): seed, version 1. */
const TEST_SIGNING_KEY = 'ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0';

/** A project of tests inside workerd (the homeserver worker, its Durable Objects) with `bindings` added to the common ones. */
function workersProject(name: string, files: { include: string[]; exclude?: string[] }, bindings: Record<string, unknown>) {
  return {
    plugins: [
      cloudflareTest({
        main: './workers/homeserver/index.ts',
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          bindings: { SERVER_NAME: 'test.local', PUBLIC_BASEURL: 'https://matrix.test.local', SIGNING_KEY: TEST_SIGNING_KEY, REGISTRATION: 'open', ...bindings },
        },
      }),
    ],
    // A file's first requests start workerd and its objects; on a busy 2-core machine that alone
    // has taken 4 s, so the default 5 s would fail tests that are merely first in line.
    test: { name, testTimeout: 20_000, hookTimeout: 30_000, ...files },
  };
}

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
      workersProject('workers', { include: ['test/workers/**/*.test.ts', 'test/durable-objects/**/*.test.ts', 'test/client/**/*.test.ts'], exclude: [...configDefaults.exclude, RATE_LIMIT_TEST] }, {
        STATE_RES_VECTORS: vector('state_resolution_v2.json'),
        CLIENT_AUTH_SPEC: clientAuthSpec(),
      }),
      // The rate-limit test alone, with rates low enough to reach in a test; the 'workers'
      // project keeps the generous defaults, which no other test comes near.
      workersProject('workers-rate-limit', { include: [RATE_LIMIT_TEST] }, {
        RC_MESSAGE_PER_SECOND: '0.2',
        RC_MESSAGE_BURST_COUNT: '3',
        RC_LOGIN_FAILED_PER_SECOND: '0.1',
        RC_LOGIN_FAILED_BURST_COUNT: '2',
        RC_REGISTRATION_PER_SECOND: '0.01',
        RC_REGISTRATION_BURST_COUNT: '3',
      }),
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
