import type { Enforcement, SyscallArg, SyscallEnforcerPort, SyscallRequest } from '@forgeone/common';
import { formatCapability, PLAIN_FORGE_CALLS, type Capability } from './capability';
import type { CapabilitySet } from './capabilitySet';

/**
 * What a call needs: a list of capabilities (all required), `free` for calls that only touch the
 * caller's own state, or `refused` for calls no capability grants.
 */
export type CapabilityNeed = readonly Capability[] | 'free' | 'refused';

/** Calls that touch only the caller's own buffers, descriptors it already holds, or its own process. */
const FREE = new Set([
  'forge.input_len',
  'forge.input_read',
  'forge.output_write',
  'wasi.args_get',
  'wasi.args_sizes_get',
  'wasi.environ_get',
  'wasi.environ_sizes_get',
  'wasi.clock_res_get',
  'wasi.clock_time_get',
  'wasi.poll_oneoff',
  'wasi.proc_exit',
  'wasi.proc_raise',
  'wasi.random_get',
  'wasi.sched_yield',
]);

/** WASI calls that name paths, and what each path needs. */
const WASI_PATH_CALLS: Readonly<Record<string, readonly ['read' | 'write', string][]>> = {
  'wasi.path_filestat_get': [['read', 'path']],
  'wasi.path_readlink': [['read', 'path']],
  'wasi.path_create_directory': [['write', 'path']],
  'wasi.path_filestat_set_times': [['write', 'path']],
  'wasi.path_remove_directory': [['write', 'path']],
  'wasi.path_unlink_file': [['write', 'path']],
  'wasi.path_symlink': [['write', 'path']],
  'wasi.path_rename': [
    ['write', 'path'],
    ['write', 'targetPath'],
  ],
  // A hard link makes the source's contents reachable at the target: both sides change.
  'wasi.path_link': [
    ['write', 'path'],
    ['write', 'targetPath'],
  ],
};

const text = (value: SyscallArg | undefined): string | undefined =>
  typeof value === 'string' ? value : undefined;

/** Maps one decoded request to the capabilities it needs. Unknown calls are refused (fail closed). */
export function requiredCapabilities(request: SyscallRequest): CapabilityNeed {
  const { syscall, args } = request;
  if (FREE.has(syscall)) return 'free';
  // Calls on descriptors the guest already opened: the path check happened at path_open.
  if (syscall.startsWith('wasi.fd_')) return 'free';
  const plain = syscall.startsWith('forge.') ? syscall.slice('forge.'.length) : undefined;
  if (plain !== undefined && (PLAIN_FORGE_CALLS as readonly string[]).includes(plain)) {
    return [{ kind: 'forge', action: 'call', fn: plain }];
  }
  switch (syscall) {
    case 'forge.kv_get':
    case 'forge.kv_put':
    case 'forge.kv_delete': {
      const namespace = text(args.namespace);
      if (namespace === undefined) return 'refused';
      return [{ kind: 'kv', action: syscall === 'forge.kv_get' ? 'read' : 'write', namespace }];
    }
    case 'forge.emit_event': {
      const name = text(args.name);
      return name === undefined ? 'refused' : [{ kind: 'event', action: 'emit', name }];
    }
    case 'forge.secret_read': {
      const name = text(args.name);
      return name === undefined ? 'refused' : [{ kind: 'secret', action: 'read', name }];
    }
    case 'forge.call_plugin': {
      const plugin = text(args.plugin);
      const name = text(args.export);
      if (plugin === undefined || name === undefined) return 'refused';
      return [{ kind: 'plugin', action: 'call', plugin, export: name }];
    }
    case 'wasi.path_open': {
      const path = text(args.path);
      if (path === undefined) return 'refused';
      const needs: Capability[] = [];
      if (args.read === true || args.write !== true) needs.push({ kind: 'fs', action: 'read', path });
      if (args.write === true) needs.push({ kind: 'fs', action: 'write', path });
      return needs;
    }
  }
  const pathArgs = WASI_PATH_CALLS[syscall];
  if (pathArgs === undefined) return 'refused';
  const needs: Capability[] = [];
  for (const [action, key] of pathArgs) {
    const path = text(args[key]);
    if (path === undefined) return 'refused';
    needs.push({ kind: 'fs', action, path });
  }
  return needs;
}

export interface CapabilityEnforcerOptions {
  /** Who holds the capabilities, for the reasons (`plugin greeter`). */
  readonly holder: string;
  readonly grants: CapabilitySet;
  /** The kernel's own policy, asked after the capability check passes. Default: allow. */
  readonly inner?: SyscallEnforcerPort;
}

/**
 * An enforcer that allows a call only when the holder's capabilities cover it, then asks the
 * kernel's enforcer. A refusal carries the missing capability in its reason, so the gate's trace
 * says exactly what was not granted.
 */
export class CapabilityEnforcer implements SyscallEnforcerPort {
  readonly #holder: string;
  readonly #grants: CapabilitySet;
  readonly #inner: SyscallEnforcerPort | undefined;

  constructor(options: CapabilityEnforcerOptions) {
    this.#holder = options.holder;
    this.#grants = options.grants;
    this.#inner = options.inner;
  }

  enforce(request: SyscallRequest): Enforcement {
    const need = requiredCapabilities(request);
    if (need === 'refused') {
      return this.#deny(`${request.syscall} with these arguments is granted by no capability`);
    }
    const grants: string[] = [];
    if (need !== 'free') {
      for (const needed of need) {
        const grant = this.#grants.grantFor(needed);
        if (grant === undefined) {
          return this.#deny(`${this.#holder} lacks capability ${formatCapability(needed)}`);
        }
        grants.push(formatCapability(grant));
      }
    }
    if (this.#inner) return this.#inner.enforce(request);
    return {
      decision: {
        action: 'allow',
        reasons: [
          {
            policy: 'capabilities',
            message:
              need === 'free' ? `${request.syscall} needs no capability` : `granted by ${grants.join(', ')}`,
          },
        ],
      },
      execute: true,
      mode: 'enforce',
    };
  }

  #deny(message: string): Enforcement {
    return {
      decision: { action: 'deny', reasons: [{ policy: 'capabilities', message }] },
      execute: false,
      mode: 'enforce',
    };
  }
}
