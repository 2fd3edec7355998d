/** The committed WASM core loads in workerd with an empty import object and answers calls. */
import { describe, expect, it } from 'vitest';
import { matrixCore } from '../../wasm/module';
import { WasmCoreError } from '../../wasm/index';

describe('WASM core in workerd', () => {
  it('instantiates without imports and reports errors as values', () => {
    const core = matrixCore();
    expect(core.memoryBytes()).toBeGreaterThan(0);
    expect(() => core.call('no_such_op' as 'auth_check', {})).toThrow(WasmCoreError);
  });
});
