/**
 * Host side of the WASM core's calling convention (see wasm/src/lib.rs): JSON request in,
 * `{"ok": value}` or `{"error": text}` out, through `alloc`/`dealloc` and a packed
 * `(ptr << 32) | len` return. Runtime-neutral: workerd passes the module it imported
 * (wasm/module.ts), Node tooling passes one compiled from the file.
 */

/** The operations the crate exports, each taking one JSON request. */
export type CoreOperation = 'auth_check' | 'resolve_state' | 'auth_types' | 'redaction_allowed' | 'auth_chain';

/** The ABI version this loader speaks; the crate's `abi_version()` must match. */
const ABI_VERSION = 1;

interface CoreExports {
  memory: WebAssembly.Memory;
  alloc(len: number): number;
  dealloc(ptr: number, len: number): void;
  abi_version(): number;
  [op: string]: unknown;
}

export class WasmCoreError extends Error {
  override readonly name = 'WasmCoreError';
}

export class MatrixCore {
  private readonly exports: CoreExports;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();

  /** @throws WasmCoreError when the module needs imports or speaks another ABI version. */
  constructor(module: WebAssembly.Module) {
    // No imports: the crate is pure, so an empty import object is the whole environment.
    const instance = new WebAssembly.Instance(module, {});
    this.exports = instance.exports as unknown as CoreExports;
    const version = this.exports.abi_version();
    if (version !== ABI_VERSION) {
      throw new WasmCoreError(`WASM core speaks ABI ${version}, this loader ${ABI_VERSION}`);
    }
  }

  /** Whether the crate exports `op` (operations land in the crate issue by issue). */
  has(op: CoreOperation): boolean {
    return typeof this.exports[op] === 'function';
  }

  /**
   * Run one operation.
   * @throws WasmCoreError with the crate's message when it answers `{"error": ...}`.
   */
  call<T>(op: CoreOperation, request: unknown): T {
    return this.callJson<T>(op, JSON.stringify(request));
  }

  /** `call` with the request already serialised (lets callers reuse constant parts). */
  callJson<T>(op: CoreOperation, requestJson: string): T {
    const fn = this.exports[op];
    if (typeof fn !== 'function') throw new WasmCoreError(`WASM core has no operation ${op}`);
    const input = this.encoder.encode(requestJson);
    const ptr = this.exports.alloc(input.length);
    new Uint8Array(this.exports.memory.buffer, ptr, input.length).set(input);
    // The crate takes ownership of the input buffer and frees it.
    const packed = BigInt.asUintN(64, BigInt((fn as (p: number, l: number) => bigint)(ptr, input.length)));
    const outPtr = Number(packed >> 32n);
    const outLen = Number(packed & 0xffffffffn);
    const text = this.decoder.decode(new Uint8Array(this.exports.memory.buffer, outPtr, outLen));
    this.exports.dealloc(outPtr, outLen);
    const response = JSON.parse(text) as { ok?: T; error?: string };
    if (response.error !== undefined) throw new WasmCoreError(response.error);
    return response.ok as T;
  }

  /** Bytes of linear memory, for the tests that watch for leaks. */
  memoryBytes(): number {
    return this.exports.memory.buffer.byteLength;
  }
}
