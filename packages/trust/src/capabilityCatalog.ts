import type { ArgCondition, MatchCondition } from './policyDocument';
import type { WasiPreview1Call } from './wasiPreview1Calls';

/**
 * How a package can be granted one syscall, in the capability vocabulary of package manifests
 * (`fs:read:/data`, `kv:write:notes`, `event:emit:order.created`, `plugin:call:p/run`,
 * `forge:call:log`, `secret:read:db-password`): `free` calls need no capability, `none` are granted by no capability at all
 * (the network: `wasi.sock_*`), the rest name the capability kind and the arguments that carry its
 * resource.
 */
export type SyscallGrant =
  | { readonly by: 'free' }
  | { readonly by: 'none' }
  | { readonly by: 'forge'; readonly fn: string }
  | { readonly by: 'kv'; readonly action: 'read' | 'write' }
  | { readonly by: 'event' }
  | { readonly by: 'plugin' }
  | { readonly by: 'secret' }
  | { readonly by: 'fs'; readonly needs: readonly (readonly ['read' | 'write' | 'open', string])[] };

const FREE: SyscallGrant = Object.freeze({ by: 'free' });
const NONE: SyscallGrant = Object.freeze({ by: 'none' });
const fsGrant = (...needs: (readonly ['read' | 'write' | 'open', string])[]): SyscallGrant =>
  Object.freeze({ by: 'fs', needs: Object.freeze(needs.map((need) => Object.freeze(need))) });
const OPEN_PATH = fsGrant(['open', 'path']);
const READ_PATH = fsGrant(['read', 'path']);
const WRITE_PATH = fsGrant(['write', 'path']);
const WRITE_BOTH_PATHS = fsGrant(['write', 'path'], ['write', 'targetPath']);

/**
 * The grant of every WASI preview1 call (the compiler holds it to WASI_PREVIEW1_CALLS). Calls on
 * descriptors already opened are free: they were checked when the path was opened.
 */
const WASI_GRANTS: Readonly<Record<WasiPreview1Call, SyscallGrant>> = {
  args_get: FREE,
  args_sizes_get: FREE,
  environ_get: FREE,
  environ_sizes_get: FREE,
  clock_res_get: FREE,
  clock_time_get: FREE,
  fd_advise: FREE,
  fd_allocate: FREE,
  fd_close: FREE,
  fd_datasync: FREE,
  fd_fdstat_get: FREE,
  fd_fdstat_set_flags: FREE,
  fd_fdstat_set_rights: FREE,
  fd_filestat_get: FREE,
  fd_filestat_set_size: FREE,
  fd_filestat_set_times: FREE,
  fd_pread: FREE,
  fd_prestat_get: FREE,
  fd_prestat_dir_name: FREE,
  fd_pwrite: FREE,
  fd_read: FREE,
  fd_readdir: FREE,
  fd_renumber: FREE,
  fd_seek: FREE,
  fd_sync: FREE,
  fd_tell: FREE,
  fd_write: FREE,
  path_create_directory: WRITE_PATH,
  path_filestat_get: READ_PATH,
  path_filestat_set_times: WRITE_PATH,
  path_link: WRITE_BOTH_PATHS,
  path_open: OPEN_PATH,
  path_readlink: READ_PATH,
  path_remove_directory: WRITE_PATH,
  path_rename: WRITE_BOTH_PATHS,
  path_symlink: WRITE_PATH,
  path_unlink_file: WRITE_PATH,
  poll_oneoff: FREE,
  proc_exit: FREE,
  proc_raise: FREE,
  sched_yield: FREE,
  random_get: FREE,
  // The network: no capability grants it.
  sock_accept: NONE,
  sock_recv: NONE,
  sock_send: NONE,
  sock_shutdown: NONE,
};
const FREE_FORGE = new Set(['input_len', 'input_read', 'output_write']);
const PLAIN_FORGE = new Set(['log', 'clock_now', 'random_bytes']);

/** The capability that grants `syscall` (see SyscallGrant). Unknown calls are granted by none. */
export function grantOf(syscall: string): SyscallGrant {
  const dot = syscall.indexOf('.');
  const namespace = syscall.slice(0, dot);
  const name = syscall.slice(dot + 1);
  if (namespace === 'wasi') {
    return Object.hasOwn(WASI_GRANTS, name) ? WASI_GRANTS[name as WasiPreview1Call] : NONE;
  }
  if (namespace === 'forge') {
    if (FREE_FORGE.has(name)) return FREE;
    if (PLAIN_FORGE.has(name)) return { by: 'forge', fn: name };
    if (name === 'kv_get') return { by: 'kv', action: 'read' };
    if (name === 'kv_put' || name === 'kv_delete') return { by: 'kv', action: 'write' };
    if (name === 'emit_event') return { by: 'event' };
    if (name === 'call_plugin') return { by: 'plugin' };
    if (name === 'secret_read') return { by: 'secret' };
  }
  return NONE;
}

/** The literal values an argument condition pins (`equals`, `oneOf`, a bare literal), if any. */
function pinned(condition: ArgCondition | undefined): string[] | undefined {
  if (condition === undefined) return undefined;
  if (typeof condition === 'string') return [condition];
  if (condition === null || typeof condition !== 'object') return undefined;
  if (typeof condition.equals === 'string') return [condition.equals];
  if (condition.oneOf?.every((v) => typeof v === 'string')) return condition.oneOf as string[];
  return undefined;
}

/** The directories a path condition confines a call to (`/` when it does not confine it). */
function confinedDirs(condition: ArgCondition | undefined): string[] {
  const values = pinned(condition);
  if (values) return values;
  if (condition === null || typeof condition !== 'object' || condition === undefined) return ['/'];
  if (condition.under !== undefined)
    return [condition.under.length > 1 ? condition.under.replace(/\/+$/, '') : '/'];
  if (condition.prefix?.endsWith('/') && condition.prefix.length > 1) return [condition.prefix.slice(0, -1)];
  return ['/'];
}

const inside = (path: string, granted: string) =>
  granted === '/' || path === granted || path.startsWith(`${granted}/`);

/** `kind:action:resource`, split; anything malformed grants nothing. */
function parse(capability: string): { kind: string; action: string; resource: string } | undefined {
  const first = capability.indexOf(':');
  const second = first < 0 ? -1 : capability.indexOf(':', first + 1);
  if (second < 0) return undefined;
  return {
    kind: capability.slice(0, first),
    action: capability.slice(first + 1, second),
    resource: capability.slice(second + 1),
  };
}

/**
 * The capability an allow rule would still need for `syscall` beyond `requested`, or undefined
 * when the requested capabilities cover everything the rule allows for it.
 */
export function missingCapability(
  syscall: string,
  match: MatchCondition,
  requested: readonly string[],
): string | undefined {
  const grant = grantOf(syscall);
  const caps = requested.map(parse).filter((c) => c !== undefined);
  const has = (kind: string, action: string, covers: (resource: string) => boolean) =>
    caps.some((c) => c.kind === kind && c.action === action && covers(c.resource));
  const args = match.args ?? {};
  switch (grant.by) {
    case 'free':
      return undefined;
    case 'none':
      return `(no capability grants ${syscall})`;
    case 'forge':
      return has('forge', 'call', (r) => r === '*' || r === grant.fn) ? undefined : `forge:call:${grant.fn}`;
    case 'kv': {
      const namespaces = pinned(args['namespace']) ?? ['*'];
      const missing = namespaces.find((ns) => !has('kv', grant.action, (r) => r === '*' || r === ns));
      return missing === undefined ? undefined : `kv:${grant.action}:${missing}`;
    }
    case 'event': {
      const names = pinned(args['name']) ?? ['*'];
      const missing = names.find((n) => !has('event', 'emit', (r) => r === '*' || r === n));
      return missing === undefined ? undefined : `event:emit:${missing}`;
    }
    case 'secret': {
      // No wildcard grants secrets: a rule must pin the names it allows.
      const names = pinned(args['name']);
      if (!names) return 'secret:read:<name> (the rule does not pin the secret name)';
      const missing = names.find((n) => !has('secret', 'read', (r) => r === n));
      return missing === undefined ? undefined : `secret:read:${missing}`;
    }
    case 'plugin': {
      const plugins = pinned(args['plugin']);
      const exports = pinned(args['export']) ?? ['*'];
      if (!plugins) return 'plugin:call:* (the rule does not pin the plugin)';
      for (const plugin of plugins) {
        const missing = exports.find(
          (e) => !has('plugin', 'call', (r) => r === `${plugin}/*` || r === `${plugin}/${e}`),
        );
        if (missing !== undefined) return `plugin:call:${plugin}/${missing}`;
      }
      return undefined;
    }
    case 'fs': {
      for (const [action, arg] of grant.needs) {
        const actions =
          action !== 'open'
            ? [action]
            : args['write'] === false
              ? ['read']
              : args['write'] === true
                ? ['write']
                : ['read', 'write'];
        for (const act of actions) {
          const missing = confinedDirs(args[arg]).find((dir) => !has('fs', act, (r) => inside(dir, r)));
          if (missing !== undefined) return `fs:${act}:${missing}`;
        }
      }
      return undefined;
    }
  }
}
