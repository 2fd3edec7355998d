// Import a TypeScript module in Node: bundle it with esbuild (the same pinned build the
// workers use) and import the result from memory. `import.meta.url` is the entry file's URL
// (a module imported from memory has a data: URL, which path helpers such as
// test/e2e/instance.ts cannot resolve against).
import { pathToFileURL } from 'node:url';
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
    define: { 'import.meta.url': JSON.stringify(pathToFileURL(entry).href) },
  });
  return import(`data:text/javascript;base64,${Buffer.from(result.outputFiles[0].text).toString('base64')}`);
}
