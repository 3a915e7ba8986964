import type { WasmValue } from '../syscallDefinition';

/**
 * An i32 argument as the unsigned value the ABI means (pointers, lengths, fds). On the syscall hot
 * path: a number takes one branch and no call (`Number()` on a value that may be a bigint is a
 * builtin call V8 does not inline).
 */
export function u32(value: WasmValue | undefined): number {
  if (typeof value === 'number') return value >>> 0;
  return typeof value === 'bigint' ? Number(BigInt.asUintN(32, value)) : 0;
}
