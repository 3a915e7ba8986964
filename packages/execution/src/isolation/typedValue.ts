import { ForgeError } from '@forgeone/common';
import type { GuestMemory } from '../gate/guestMemory';
import type { WasmValue } from '../gate/syscallDefinition';
import type { WasmSignature } from '../module/wasmModuleInfo';

/**
 * A value passed to or returned from a guest export. Numbers are typed as WebAssembly sees them;
 * `bytes` and `string` go through the bytes ABI (README: "Passing bytes and strings").
 */
export type TypedValue =
  | { readonly type: 'i32'; readonly value: number }
  | { readonly type: 'i64'; readonly value: bigint }
  | { readonly type: 'f32'; readonly value: number }
  | { readonly type: 'f64'; readonly value: number }
  | { readonly type: 'bytes'; readonly value: Uint8Array }
  | { readonly type: 'string'; readonly value: string };

/** How to read an export's result: as numbers (default), or through the bytes ABI. */
export type ResultKind = 'values' | 'bytes' | 'string';

/** The guest export the host calls to get a buffer for a bytes or string argument: `(len i32) -> ptr i32`. */
export const ALLOC_EXPORT = 'forge_alloc';

function invalid(message: string): never {
  throw new ForgeError('FORGE_INVOKE_ARGS', message);
}

/** Checks one typed value's JavaScript representation (edge input: from callers, CLI, messages). */
function checkValue(value: TypedValue, index: number): void {
  switch (value.type) {
    case 'i32':
      if (!Number.isInteger(value.value) || value.value < -(2 ** 31) || value.value > 2 ** 32 - 1)
        invalid(`argument ${index}: ${String(value.value)} is not an i32`);
      return;
    case 'i64':
      if (typeof value.value !== 'bigint' || BigInt.asIntN(64, value.value) !== value.value) {
        if (typeof value.value !== 'bigint' || BigInt.asUintN(64, value.value) !== value.value)
          invalid(`argument ${index}: ${String(value.value)} is not an i64 (use a bigint)`);
      }
      return;
    case 'f32':
    case 'f64':
      if (typeof value.value !== 'number') invalid(`argument ${index}: expected a number for ${value.type}`);
      return;
    case 'bytes':
      if (!(value.value instanceof Uint8Array)) invalid(`argument ${index}: expected a Uint8Array`);
      return;
    case 'string':
      if (typeof value.value !== 'string') invalid(`argument ${index}: expected a string`);
      return;
    default:
      invalid(`argument ${index}: unknown type ${String((value as { type: unknown }).type)}`);
  }
}

/** The raw WebAssembly parameters a list of typed values takes: bytes and strings take two i32s. */
export function rawParamTypes(values: readonly TypedValue[]): string[] {
  return values.flatMap((v) => (v.type === 'bytes' || v.type === 'string' ? ['i32', 'i32'] : [v.type]));
}

/**
 * Lowers typed arguments to raw WebAssembly values, checked against the export's signature when it
 * is known. Bytes and strings are copied into a buffer from the guest's `forge_alloc` export and
 * passed as `(ptr, len)`.
 */
export function lowerArgs(
  values: readonly TypedValue[],
  options: {
    readonly export: string;
    readonly signature: WasmSignature | undefined;
    readonly memory: GuestMemory;
    readonly alloc: ((len: number) => unknown) | undefined;
  },
): WasmValue[] {
  if (!Array.isArray(values)) invalid('arguments must be an array of typed values');
  values.forEach(checkValue);
  const { signature } = options;
  if (signature) {
    const expected = signature.params.join(', ');
    const given = rawParamTypes(values).join(', ');
    if (expected !== given) {
      invalid(`export '${options.export}' takes (${expected}); given (${given})`);
    }
  }
  const raw: WasmValue[] = [];
  for (const value of values) {
    if (value.type === 'bytes' || value.type === 'string') {
      const bytes = value.type === 'string' ? new TextEncoder().encode(value.value) : value.value;
      if (options.alloc === undefined) {
        invalid(`passing ${value.type} needs the guest to export '${ALLOC_EXPORT}(len i32) -> i32'`);
      }
      const ptr = Number(options.alloc(bytes.byteLength)) >>> 0;
      try {
        options.memory.write(ptr, bytes);
      } catch {
        invalid(`'${ALLOC_EXPORT}' returned ${ptr}, which has no room for ${bytes.byteLength} bytes`);
      }
      raw.push(ptr, bytes.byteLength);
    } else if (value.type === 'i32') {
      raw.push(value.value | 0);
    } else {
      raw.push(value.value);
    }
  }
  return raw;
}

/**
 * Reads an export's raw result as typed values; for `bytes`/`string` the export returns either an
 * i64 `(ptr << 32) | len` or the two i32s `ptr, len`, and the bytes are copied out of guest memory.
 */
export function liftResult(
  raw: unknown,
  kind: ResultKind,
  signature: WasmSignature | undefined,
  memory: GuestMemory,
): TypedValue[] {
  const values: unknown[] = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  if (kind === 'values') {
    return values.map((value, i) => {
      const type = signature?.results[i];
      if (typeof value === 'bigint') return { type: 'i64', value };
      if (type === 'f32' || type === 'f64' || type === 'i32') return { type, value: value as number };
      return Number.isInteger(value)
        ? { type: 'i32', value: value as number }
        : { type: 'f64', value: value as number };
    });
  }
  let ptr: number;
  let len: number;
  if (values.length === 1 && typeof values[0] === 'bigint') {
    const packed = BigInt.asUintN(64, values[0]);
    ptr = Number(packed >> 32n);
    len = Number(packed & 0xffff_ffffn);
  } else if (values.length === 2 && typeof values[0] === 'number' && typeof values[1] === 'number') {
    ptr = values[0] >>> 0;
    len = values[1] >>> 0;
  } else {
    throw new ForgeError(
      'FORGE_INVOKE_ARGS',
      `a ${kind} result must be an i64 (ptr << 32 | len) or two i32s (ptr, len)`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = memory.read(ptr, len);
  } catch {
    throw new ForgeError(
      'FORGE_INVOKE_ARGS',
      `the guest returned a buffer [${ptr}, +${len}) outside its memory`,
    );
  }
  if (kind === 'bytes') return [{ type: 'bytes', value: bytes }];
  try {
    return [{ type: 'string', value: new TextDecoder('utf-8', { fatal: true }).decode(bytes) }];
  } catch {
    throw new ForgeError('FORGE_INVOKE_ARGS', 'the guest returned a string that is not valid UTF-8');
  }
}

/**
 * Parses command-line arguments against an export's parameter types: numbers for i32/i64/f32/f64;
 * a parameter pair `(i32, i32)` is not guessed — use `{type:'string'}` from the API for that.
 */
export function parseTypedArgs(texts: readonly string[], signature: WasmSignature | undefined): TypedValue[] {
  return texts.map((text, i) => {
    const type = signature?.params[i] ?? 'i32';
    if (type === 'i64') {
      try {
        return { type, value: BigInt(text) };
      } catch {
        return invalid(`argument ${i}: '${text}' is not an integer`);
      }
    }
    const value = Number(text);
    if (text.trim() === '' || Number.isNaN(value)) invalid(`argument ${i}: '${text}' is not a number`);
    if (type === 'f32' || type === 'f64') return { type, value };
    if (type !== 'i32')
      invalid(`argument ${i}: parameters of type ${type} cannot be given on the command line`);
    return { type: 'i32', value };
  });
}

/** JSON form of typed values (trace headers, CLI): i64 as a decimal string, bytes as base64. */
export function typedValuesToJson(values: readonly TypedValue[]): { type: string; value: string | number }[] {
  return values.map((v) =>
    v.type === 'i64'
      ? { type: v.type, value: v.value.toString() }
      : v.type === 'bytes'
        ? { type: v.type, value: Buffer.from(v.value).toString('base64') }
        : { type: v.type, value: v.value },
  );
}

/** Reads typed values back from their JSON form (outside input: checked). */
export function typedValuesFromJson(values: readonly unknown[]): TypedValue[] {
  return values.map((raw, i) => {
    const { type, value } = (raw ?? {}) as { type?: unknown; value?: unknown };
    if (type === 'i64' && typeof value === 'string' && /^-?\d+$/.test(value))
      return { type, value: BigInt(value) };
    if (type === 'bytes' && typeof value === 'string')
      return { type, value: new Uint8Array(Buffer.from(value, 'base64')) };
    if (type === 'string' && typeof value === 'string') return { type, value };
    if ((type === 'i32' || type === 'f32' || type === 'f64') && typeof value === 'number')
      return { type, value };
    return invalid(`argument ${i}: not a typed value`);
  });
}
