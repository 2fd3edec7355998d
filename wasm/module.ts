/** The WASM core as the workers load it: the committed build, instantiated once per isolate. */
import wasmModule from './matrix_core.wasm';
import { MatrixCore } from './index';

let core: MatrixCore | undefined;

export function matrixCore(): MatrixCore {
  core ??= new MatrixCore(wasmModule);
  return core;
}
