#!/usr/bin/env node
// `npm run vectors -- --dir DIR`: run the TypeScript vector runner in Node.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { importTs } from './lib/import-ts.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const mod = await importTs(path.join(root, 'test/vectors/main.ts'));
process.exitCode = await mod.main(process.argv.slice(2), root);
