import {
  IdentityContextSchema,
  type ContainerId,
  type IdentityContextInput,
  type SyscallArg,
  type SyscallRequest,
} from '@forgeone/common';
import { fileURLToPath } from 'node:url';
import { WASI_PREVIEW1_CALLS, compilePolicy, type CompilePolicyOptions, type ZtaPolicyGraph } from '../index';

/** Every WASI preview1 function, as the runtime names them (the example policy uses many). */
export const wasiSyscalls = WASI_PREVIEW1_CALLS.map((name) => `wasi.${name}`);

/** All the syscalls of a kernel with the forge.* families. */
export const allSyscalls = [
  ...wasiSyscalls,
  ...['log', 'clock_now', 'random_bytes', 'kv_get', 'kv_put', 'kv_delete', 'emit_event'].map(
    (n) => `forge.${n}`,
  ),
];

/** A few syscalls of each family, as the runtime would list them. */
export const knownSyscalls = [
  'forge.log',
  'forge.clock_now',
  'forge.random_bytes',
  'forge.kv_get',
  'forge.kv_put',
  'forge.kv_delete',
  'wasi.path_open',
  'wasi.path_filestat_get',
  'wasi.path_readlink',
  'wasi.fd_read',
  'wasi.fd_write',
  'wasi.fd_readdir',
  'wasi.fd_close',
  'wasi.clock_time_get',
  'wasi.random_get',
  'wasi.sock_accept',
  'wasi.sock_send',
  'wasi.sock_recv',
];

export function identity(input: Partial<IdentityContextInput> = {}) {
  return IdentityContextSchema.parse({ subject: 'pkg:acme/report@1.0.0', ...input });
}

/** A request as the gate builds it. */
export function request(
  syscall: string,
  args: Record<string, SyscallArg> = {},
  extra: Partial<Omit<SyscallRequest, 'syscall' | 'args'>> = {},
): SyscallRequest {
  return {
    containerId: 'ctr_test' as ContainerId,
    identity: identity(),
    syscall,
    args,
    time: Date.UTC(2030, 0, 7, 10, 0), // a Monday, 10:00 UTC
    ...extra,
  };
}

/** A policy document around `nodes` (and optional edges and markers). */
export function doc(spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: 'test' }) {
  return { apiVersion: 'forgeone.dev/v1', kind: 'Policy', metadata, spec };
}

/** A one-node policy of `rules`. */
export function graphOf(rules: unknown[], options: CompilePolicyOptions = {}): ZtaPolicyGraph {
  return compilePolicy(doc({ nodes: [{ name: 'main', rules }] }), options);
}

/** Absolute path of a file in the repository's examples/policies. */
export function examplePolicy(name: string): string {
  return fileURLToPath(new URL(`../../../../examples/policies/${name}`, import.meta.url));
}
