import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

/** Shared vectors that workerd tests replay, handed in as JSON bindings (workerd has no fs). */
const vector = (name: string): unknown => JSON.parse(readFileSync(new URL(`../shared/vectors/${name}`, import.meta.url), 'utf8'));

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
              },
            },
          }),
        ],
        test: {
          name: 'workers',
          include: ['test/workers/**/*.test.ts', 'test/durable-objects/**/*.test.ts'],
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
