#!/usr/bin/env node
// `npm test`: type-check, vitest (core in Node, workers inside workerd, end-to-end against
// `npm start`), the shared vector files through the vector runner, and the WASM crate's cargo
// tests when a Rust toolchain is present. Ends with one plain `N passed, N failed` line.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.env.WRANGLER_SEND_METRICS ??= 'false';
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';

function run(cmd, args, { capture = false } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'] });
    let out = '';
    if (capture) {
      child.stdout.on('data', (d) => {
        out += d;
        process.stdout.write(d);
      });
    }
    child.on('exit', (code) => resolve({ code: code ?? 1, out }));
  });
}

const bin = (name) => path.join(root, 'node_modules/.bin', name);
let passed = 0;
let failed = 0;
const steps = [];
const record = (name, p, f) => {
  passed += p;
  failed += f;
  steps.push(`${name}: ${p} passed, ${f} failed`);
};

// 1. Type-check the workers' and the Node-side code (each step counts as one check).
for (const project of ['tsconfig.json', 'tsconfig.node.json']) {
  console.log(`\n== tsc -p ${project}`);
  const { code } = await run(bin('tsc'), ['--noEmit', '-p', project]);
  record(`typecheck ${project}`, code === 0 ? 1 : 0, code === 0 ? 0 : 1);
}

// 2. vitest: all projects; counts from its JSON report.
console.log('\n== vitest');
const report = path.join(await mkdtemp(path.join(tmpdir(), 'edge-matrix-vitest-')), 'report.json');
const vitest = await run(bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`]);
if (existsSync(report)) {
  const r = JSON.parse(await readFile(report, 'utf8'));
  const suiteErrors = r.testResults.filter((t) => t.status === 'failed' && t.assertionResults.length === 0).length;
  record('vitest', r.numPassedTests, r.numFailedTests + suiteErrors + (vitest.code !== 0 && r.numFailedTests + suiteErrors === 0 ? 1 : 0));
} else {
  record('vitest', 0, 1);
}

// 3. The vector runner over ../shared/vectors, then over our own vectors (test/vectors/own).
for (const dir of [path.join(root, '../shared/vectors'), path.join(root, 'test/vectors/own')]) {
  if (!existsSync(dir)) {
    record(`vectors ${path.relative(root, dir)}`, 0, 1);
    continue;
  }
  console.log(`\n== vectors ${path.relative(root, dir)}`);
  const vectors = await run(process.execPath, [path.join(root, 'scripts/vectors.mjs'), '--dir', dir], { capture: true });
  const m = /^(\d+) passed, (\d+) failed$/m.exec(vectors.out);
  if (m) record(`vectors ${path.relative(root, dir)}`, Number(m[1]), Number(m[2]) + (vectors.code !== 0 && m[2] === '0' ? 1 : 0));
  else record(`vectors ${path.relative(root, dir)}`, 0, 1);
}

// 4. cargo tests of the WASM core, where Debian's (or a rustup wasm) toolchain is installed.
const haveRust = existsSync('/usr/bin/cargo') || process.env.EDGE_MATRIX_REQUIRE_RUST === '1';
if (haveRust) {
  console.log('\n== cargo test (wasm/)');
  const cargo = await run('bash', [path.join(root, 'wasm/build.sh'), '--test'], { capture: true });
  let p = 0;
  let f = 0;
  for (const t of cargo.out.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed/g)) {
    p += Number(t[1]);
    f += Number(t[2]);
  }
  record('cargo test', p, f + (cargo.code !== 0 && f === 0 ? 1 : 0));
} else {
  steps.push('cargo test: skipped (no Rust toolchain; `bash wasm/build.sh --test` installs one)');
}

console.log(`\n${steps.join('\n')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
