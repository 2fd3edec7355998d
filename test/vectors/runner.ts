/**
 * The vector runner: every `*.json` file in a directory goes through the format module that
 * recognises it (by its `format` field or file name), using the same functions the server uses.
 * Prints one line per file and a final `N passed, N failed`; a file no module recognises, or a
 * case a module cannot run, counts as failed. Nothing here knows any case id.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CaseResult, VectorContext, VectorFormat } from './types';
import { FORMATS } from './formats/index';

export interface RunSummary {
  passed: number;
  failed: number;
}

export async function runVectorDir(dir: string, ctx: VectorContext, formats: readonly VectorFormat[] = FORMATS): Promise<RunSummary> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  let passed = 0;
  let failed = 0;
  if (files.length === 0) {
    console.log(`FAIL ${dir}: no vector files`);
    return { passed, failed: 1 };
  }
  for (const file of files) {
    let results: CaseResult[];
    let label: string;
    try {
      const json: unknown = JSON.parse(await readFile(path.join(dir, file), 'utf8'));
      const format = formats.find((f) => f.recognise(file, json));
      if (!format) {
        results = [{ id: file, ok: false, detail: 'no runner recognises this file' }];
        label = 'unrecognised';
      } else {
        results = await format.run(json, ctx);
        label = format.name;
        if (results.length === 0) results = [{ id: file, ok: false, detail: 'file holds no cases' }];
      }
    } catch (e) {
      results = [{ id: file, ok: false, detail: `cannot run: ${(e as Error).message}` }];
      label = 'error';
    }
    const bad = results.filter((r) => !r.ok);
    passed += results.length - bad.length;
    failed += bad.length;
    console.log(`${bad.length === 0 ? 'PASS' : 'FAIL'} ${file} [${label}] ${results.length - bad.length}/${results.length} cases`);
    for (const r of bad.slice(0, 50)) console.log(`    ✗ ${r.id}${r.detail ? `: ${r.detail}` : ''}`);
    if (bad.length > 50) console.log(`    … and ${bad.length - 50} more`);
  }
  return { passed, failed };
}
