import picomatch from 'picomatch';

const fsRead = [
  'fd_advise',
  'fd_close',
  'fd_fdstat_get',
  'fd_filestat_get',
  'fd_pread',
  'fd_prestat_dir_name',
  'fd_prestat_get',
  'fd_read',
  'fd_readdir',
  'fd_seek',
  'fd_tell',
  'path_filestat_get',
  'path_open',
  'path_readlink',
];
const fsWriteOnly = [
  'fd_allocate',
  'fd_datasync',
  'fd_fdstat_set_flags',
  'fd_fdstat_set_rights',
  'fd_filestat_set_size',
  'fd_filestat_set_times',
  'fd_pwrite',
  'fd_renumber',
  'fd_sync',
  'fd_write',
  'path_create_directory',
  'path_filestat_set_times',
  'path_link',
  'path_remove_directory',
  'path_rename',
  'path_symlink',
  'path_unlink_file',
];
const wasi = (names: readonly string[]) => names.map((name) => `wasi.${name}`);

/**
 * What each named capability a package can request (manifest `capabilities`) lets it call. A
 * capability written as a syscall name or glob (`forge.log`, `forge.kv_*`) grants exactly those
 * syscalls and needs no entry here.
 */
export const capabilityCatalog: Readonly<Record<string, readonly string[]>> = {
  'wasi:fs.read': wasi(fsRead),
  'wasi:fs.write': wasi([...fsRead, ...fsWriteOnly]),
  'wasi:clock': wasi(['clock_res_get', 'clock_time_get', 'poll_oneoff', 'sched_yield']),
  'wasi:random': wasi(['random_get']),
  'wasi:env': wasi(['args_get', 'args_sizes_get', 'environ_get', 'environ_sizes_get']),
  'wasi:proc': wasi(['proc_exit', 'proc_raise', 'sched_yield']),
  'wasi:net': wasi(['sock_accept', 'sock_recv', 'sock_send', 'sock_shutdown']),
  'forge:kv': ['forge.kv_get', 'forge.kv_put', 'forge.kv_delete'],
};

/** The syscalls among `known` that capability `name` grants (none for an unknown name). */
export function syscallsOfCapability(name: string, known: Iterable<string>): string[] {
  const patterns = capabilityCatalog[name] ?? (/^[a-z][a-z0-9_]*\.[a-z0-9_*]+$/.test(name) ? [name] : []);
  const matchers = patterns.map((pattern) => picomatch(pattern));
  return [...known].filter((syscall) => matchers.some((matches) => matches(syscall)));
}
