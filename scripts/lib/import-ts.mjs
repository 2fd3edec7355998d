// Import a TypeScript module in Node: bundle it with esbuild (the same pinned build the
// workers use) and import the result from memory.
import { build } from 'esbuild';

export async function importTs(entry) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'silent',
  });
  return import(`data:text/javascript;base64,${Buffer.from(result.outputFiles[0].text).toString('base64')}`);
}
