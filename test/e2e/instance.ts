/**
 * Runs `npm start`'s script as a child process, exactly as a user would, on a free loopback
 * port with its own data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export function tempDataDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'edge-matrix-'));
}

export interface Instance {
  base: string;
  port: number;
  dataDir: string;
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<number | null>;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function startProcess(env: Record<string, string>): { child: ChildProcess; out: string[]; err: string[] } {
  const child = spawn(process.execPath, [path.join(ROOT, 'scripts/start.mjs')], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  const err: string[] = [];
  child.stdout!.on('data', (d: Buffer) => out.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => err.push(d.toString()));
  return { child, out, err };
}

/** Start an instance and wait until it prints where it listens. */
export async function startInstance(env: Record<string, string> = {}): Promise<Instance> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const dataDir = env.DATA_DIR ?? (await tempDataDir());
  const { child, out, err } = startProcess({ ...env, PORT: String(port), DATA_DIR: dataDir });
  const output = () => out.join('') + err.join('');
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line in 45 s:\n${output()}`)), 45_000);
    const check = () => {
      if (/listening on http:\/\//.test(out.join(''))) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening:\n${output()}`));
    });
  });
  const stop = () =>
    new Promise<number | null>((resolve) => {
      if (child.exitCode !== null) return resolve(child.exitCode);
      child.once('exit', (code) => resolve(code));
      child.kill('SIGINT');
    });
  return { base: `http://127.0.0.1:${port}`, port, dataDir, child, output, stop };
}

/** Run the start script expecting it to exit by itself (e.g. on bad configuration). */
export async function runToExit(env: Record<string, string>): Promise<RunResult> {
  const { child, out, err } = startProcess(env);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout: out.join(''), stderr: err.join('') };
}
