/** CLI entry of `npm run vectors -- --dir DIR` (bundled for Node by scripts/vectors.mjs). */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { webCryptoEd25519 } from '../../core/crypto/ed25519-webcrypto';
import { MatrixCore } from '../../wasm/index';
import { runVectorDir } from './runner';

export async function main(argv: string[], root: string): Promise<number> {
  const i = argv.indexOf('--dir');
  const dir = path.resolve(i >= 0 && argv[i + 1] ? argv[i + 1]! : path.join(root, '../shared/vectors'));
  const core = new MatrixCore(new WebAssembly.Module(await readFile(path.join(root, 'wasm/matrix_core.wasm'))));
  const { passed, failed } = await runVectorDir(dir, { ed25519: webCryptoEd25519, core });
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}
