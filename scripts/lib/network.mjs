// The worker network as one Miniflare instance: the homeserver origin takes every path that no
// other worker's route claims; identity and push sit beside it under their spec path prefixes;
// the appservice dispatcher has no routes. Used by `npm start`, the end-to-end tests and the
// benchmarks, so all three run exactly what `wrangler deploy` ships (same wrangler.toml files).
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { importTs } from './import-ts.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Each worker: its wrangler config and the path prefixes it serves on the shared port. */
export const WORKERS = [
  { name: 'homeserver', config: 'wrangler.toml', routes: [] },
  { name: 'identity', config: 'workers/identity/wrangler.toml', routes: ['*/_matrix/identity/*'] },
  { name: 'push', config: 'workers/push/wrangler.toml', routes: ['*/_matrix/push/*'] },
  { name: 'appservice', config: 'workers/appservice/wrangler.toml', routes: [] },
];

/** Bundle one worker with esbuild; `.wasm` imports stay separate CompiledWasm modules. */
export async function bundleWorker(entry) {
  const wasmFiles = new Map();
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'browser', 'import'],
    external: ['cloudflare:*', 'node:*'],
    logLevel: 'silent',
    plugins: [
      {
        name: 'compiled-wasm',
        setup(b) {
          b.onResolve({ filter: /\.wasm$/ }, (args) => {
            const file = path.resolve(args.resolveDir, args.path);
            const name = path.basename(file);
            wasmFiles.set(name, file);
            return { path: `./${name}`, external: true };
          });
        },
      },
    ],
  });
  const modules = [{ type: 'ESModule', path: 'index.js', contents: result.outputFiles[0].text }];
  for (const [name, file] of wasmFiles) {
    modules.push({ type: 'CompiledWasm', path: name, contents: await readFile(file) });
  }
  return modules;
}

/**
 * Miniflare options for the whole network.
 * @param {object} o
 * @param {Record<string, string>} o.homeserverVars vars/secrets that override the homeserver's
 * @param {string} o.persistRoot where all state lives
 * @param {number} o.port @param {string} o.host @param {number|undefined} o.inspectorPort
 */
export async function networkOptions({ homeserverVars, persistRoot, port, host, inspectorPort }) {
  const workers = [];
  for (const w of WORKERS) {
    const configPath = path.join(ROOT, w.config);
    const { workerOptions, main } = unstable_getMiniflareWorkerOptions(configPath);
    const bindings = { ...workerOptions.bindings, ...(w.name === 'homeserver' ? homeserverVars : {}) };
    workers.push({
      ...workerOptions,
      name: w.name,
      modules: await bundleWorker(main),
      bindings,
      routes: w.routes,
    });
  }
  return { host, port, inspectorPort, defaultPersistRoot: persistRoot, workers };
}

/** The homeserver's vars as they will be bound, for checking before start. */
export function homeserverBindings(overrides) {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(ROOT, WORKERS[0].config));
  return { ...workerOptions.bindings, ...overrides };
}

/** Load workers/shared/config.ts in Node, so `npm start` checks config with the workers' parser. */
export function loadConfigParser() {
  return importTs(path.join(ROOT, 'workers/shared/config.ts'));
}
