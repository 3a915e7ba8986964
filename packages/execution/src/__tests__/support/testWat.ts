import wabtFactory from 'wabt';

const wabt = await wabtFactory();
/** Every proposal the tests' modules use (the kernel's own `watToWasm` enables fewer, on purpose). */
const FEATURES = {
  exceptions: true,
  simd: true,
  threads: true,
  bulk_memory: true,
  reference_types: true,
  tail_call: true,
  multi_value: true,
  sat_float_to_int: true,
  sign_extension: true,
  mutable_globals: true,
};

/**
 * WebAssembly text to binary for tests, synchronously. No wabt validate (it refuses shared
 * memories whatever the features): V8 validates every module a test compiles.
 */
export function wat(text: string): Uint8Array<ArrayBuffer> {
  const parsed = wabt.parseWat('test.wat', text, FEATURES);
  try {
    parsed.resolveNames();
    return new Uint8Array(parsed.toBinary({ log: false }).buffer);
  } finally {
    parsed.destroy();
  }
}
