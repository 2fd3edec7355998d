/** Types shared by the vector runner and its format modules. */
import type { Ed25519 } from '../../core/crypto/ed25519';
import type { MatrixCore } from '../../wasm/index';

/** Outcome of one vector case. */
export type CaseResult = { id: string; ok: boolean; detail?: string };

/** What a format module may use: the server's Ed25519 port and its WASM core. */
export type VectorContext = { ed25519: Ed25519; core: MatrixCore };

/** A vector file format: recognises its files and runs every case in them. */
export type VectorFormat = {
  name: string;
  recognise(fileName: string, json: unknown): boolean;
  run(json: unknown, ctx: VectorContext): Promise<CaseResult[]>;
};
