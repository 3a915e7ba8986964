import { describe, expect, it } from 'vitest';
import { WASI_PREVIEW1_CALLS, grantOf } from '../index';

describe('grantOf', () => {
  it('grants every WASI preview1 call by its kind of resource', () => {
    const by = Object.fromEntries(WASI_PREVIEW1_CALLS.map((name) => [name, grantOf(`wasi.${name}`)]));
    for (const name of WASI_PREVIEW1_CALLS.filter((n) => n.startsWith('fd_'))) {
      expect(by[name], name).toEqual({ by: 'free' });
    }
    expect(by['path_open']).toEqual({ by: 'fs', needs: [['open', 'path']] });
    expect(by['path_readlink']).toEqual({ by: 'fs', needs: [['read', 'path']] });
    expect(by['path_unlink_file']).toEqual({ by: 'fs', needs: [['write', 'path']] });
    expect(by['path_rename']).toEqual({
      by: 'fs',
      needs: [
        ['write', 'path'],
        ['write', 'targetPath'],
      ],
    });
    for (const name of ['sock_accept', 'sock_recv', 'sock_send', 'sock_shutdown']) {
      expect(by[name], name).toEqual({ by: 'none' });
    }
    expect(by['proc_exit']).toEqual({ by: 'free' });
  });

  it('grants no unknown call, whatever its name looks like', () => {
    for (const name of [
      'wasi.fd_bogus',
      'wasi.constructor',
      'wasi.__proto__',
      'wasi.toString',
      'forge.nope',
    ]) {
      expect(grantOf(name), name).toEqual({ by: 'none' });
    }
  });

  it('lists each WASI preview1 call once', () => {
    expect(new Set(WASI_PREVIEW1_CALLS).size).toBe(WASI_PREVIEW1_CALLS.length);
    expect(WASI_PREVIEW1_CALLS).toHaveLength(46);
    expect(Object.isFrozen(WASI_PREVIEW1_CALLS)).toBe(true);
  });
});
