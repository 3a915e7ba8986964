import { ForgeError, type SyscallArg } from '@forgeone/common';
import { ForgeErrno } from './forgeErrno';
import type { WasmValType } from '../module/wasmModuleInfo';
import type { SyscallContext, SyscallDefinition, WasmValue } from '../gate/syscallDefinition';

/** A host function as a plugin author or a kernel composer writes it (see {@link hostFunction}). */
export interface HostFunctionSpec {
  /** Import module. Default `forge`. */
  readonly module?: string;
  /** Import name, e.g. `tick`: policies and traces call it `<module>.<name>` (`forge.tick`). */
  readonly name: string;
  /** Its params, by the names policies and traces show them under, in order: `{ n: 'i32' }`. */
  readonly params?: Readonly<Record<string, WasmValType>>;
  /** Its one result, if any. Default `i32`. */
  readonly result?: WasmValType | 'none';
  /**
   * Runs the call: its raw params in order (numbers; bigints for i64), and the call's context (guest
   * memory — write into it only through `context.memory`, so that replay can re-apply it). May throw
   * GuestFault (a bad pointer: the guest gets `faultResult`).
   */
  readonly execute: (params: readonly WasmValue[], context: SyscallContext) => WasmValue | undefined;
  /** What the guest gets when the gate refuses the call. Default ForgeErrno.DENIED (an i32 result). */
  readonly deniedResult?: WasmValue;
  /** What the guest gets on a bad pointer. Default ForgeErrno.FAULT (an i32 result). */
  readonly faultResult?: WasmValue;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const TYPES: ReadonlySet<string> = new Set(['i32', 'i64', 'f32', 'f64']);

/**
 * A host function as a SyscallDefinition that takes the gate's fast path: its arguments are its
 * params by name, so they decode from the raw params alone (`pureDecode`), and a call whose decision
 * the enforcer promised for every call is executed, traced and learned on the hot path — the same
 * path as the built-in `forge.*` calls. A definition written by hand without `pureDecode` is decoded
 * and traced on the gate's general path on every call (measured ~5× slower in bench/extism.bench.ts).
 * Refuses a malformed spec with FORGE_INVALID_INPUT.
 */
export function hostFunction(spec: HostFunctionSpec): SyscallDefinition {
  const module = spec.module ?? 'forge';
  for (const [what, value] of [
    ['module', module],
    ['name', spec.name],
  ] as const) {
    if (!NAME.test(value)) {
      throw new ForgeError('FORGE_INVALID_INPUT', `hostFunction: ${what} '${value}' is not a valid name`);
    }
  }
  const entries = Object.entries(spec.params ?? {});
  for (const [name, type] of entries) {
    if (!NAME.test(name) || !TYPES.has(type)) {
      throw new ForgeError(
        'FORGE_INVALID_INPUT',
        `hostFunction ${module}.${spec.name}: param '${name}' must be named [A-Za-z_][A-Za-z0-9_]* with a type of i32, i64, f32 or f64`,
      );
    }
  }
  const result = spec.result ?? 'i32';
  if (result !== 'none' && !TYPES.has(result)) {
    throw new ForgeError(
      'FORGE_INVALID_INPUT',
      `hostFunction ${module}.${spec.name}: result '${result}' is not a type`,
    );
  }
  const names = entries.map(([name]) => name);
  const run = spec.execute;
  const errno = result === 'i32';
  return {
    module,
    name: spec.name,
    syscall: `${module}.${spec.name}`,
    params: entries.map(([, type]) => type),
    results: result === 'none' ? [] : [result],
    decode: (params) => {
      const args: Record<string, SyscallArg> = {};
      for (let i = 0; i < names.length; i += 1) args[names[i]!] = params[i] ?? 0;
      return args;
    },
    pureDecode: true,
    execute: (invocation) => run(invocation.args, invocation.context),
    deniedResult: spec.deniedResult ?? (errno ? ForgeErrno.DENIED : undefined),
    faultResult: spec.faultResult ?? (errno ? ForgeErrno.FAULT : undefined),
  };
}
