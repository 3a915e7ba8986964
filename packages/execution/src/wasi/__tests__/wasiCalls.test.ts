import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isForgeError, ManualClock } from '@forgeone/common';
import { WASI_PREVIEW1_CALLS } from '@forgeone/trust';
import { createWasiPreview1, type WasiOptions } from '../../index';
import { Errno, Oflags, Rights } from '../wasiConstants';
import { directWasi } from './fixtures/harness';

// The one list of wasi_snapshot_preview1 names is trust's: the implementation is checked against it.
const PREVIEW1 = WASI_PREVIEW1_CALLS;

let scratch: string;
beforeEach(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'forgeone-wasi-calls-'));
});
afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

const ALL_FILE =
  Rights.FD_READ |
  Rights.FD_WRITE |
  Rights.FD_SEEK |
  Rights.FD_TELL |
  Rights.FD_FILESTAT_GET |
  Rights.FD_FILESTAT_SET_SIZE |
  Rights.FD_ALLOCATE;

/** A guest with one memory preopen at fd 3, and helpers to open files in it. */
function memoryGuest(options: WasiOptions = {}) {
  const guest = directWasi({
    preopens: [{ guestPath: '/m', kind: 'memory', files: { 'a.txt': 'alpha' } }],
    ...options,
  });
  const open = (name: string, oflags = 0, rights = ALL_FILE, fdflags = 0): number => {
    const len = guest.put(1000, name);
    const errno = guest.call('path_open', 3, 0, 1000, len, oflags, rights, 0n, fdflags, 16);
    if (errno !== Errno.SUCCESS) return -Number(errno);
    return guest.u32(16);
  };
  const write = (fd: number, text: string): number | bigint | undefined => {
    const len = guest.put(3000, text);
    new DataView(guest.memory.view(0, 1).buffer).setUint32(2000, 3000, true);
    new DataView(guest.memory.view(0, 1).buffer).setUint32(2004, len, true);
    return guest.call('fd_write', fd, 2000, 1, 2100);
  };
  return { ...guest, open, write };
}

describe('WASI preview1 definitions', () => {
  it('defines every wasi_snapshot_preview1 function once, named wasi.<name>', () => {
    const wasi = createWasiPreview1();
    expect(wasi.definitions.map((d) => d.name).sort()).toEqual([...PREVIEW1].sort());
    for (const definition of wasi.definitions) {
      expect(definition.module).toBe('wasi_snapshot_preview1');
      expect(definition.syscall).toBe(`wasi.${definition.name}`);
      expect(definition.deniedResult).toBe(definition.name === 'proc_exit' ? undefined : Errno.NOTCAPABLE);
      expect(definition.faultResult).toBe(definition.name === 'proc_exit' ? undefined : Errno.FAULT);
    }
  });

  it('rejects invalid options with FORGE_WASI_CONFIG_INVALID or FORGE_VFS_HOST_DIR_INVALID', () => {
    const code = (options: WasiOptions) => {
      try {
        createWasiPreview1(options);
        return 'ok';
      } catch (error) {
        return isForgeError(error) ? error.code : String(error);
      }
    };
    expect(code({ args: ['a\0b'] })).toBe('FORGE_WASI_CONFIG_INVALID');
    expect(code({ env: { 'A=B': 'c' } })).toBe('FORGE_WASI_CONFIG_INVALID');
    expect(code({ limits: { maxOpenFds: -1 } })).toBe('FORGE_WASI_CONFIG_INVALID');
    expect(
      code({
        preopens: [
          { guestPath: '/x', kind: 'memory' },
          { guestPath: '/x', kind: 'memory' },
        ],
      }),
    ).toBe('FORGE_WASI_CONFIG_INVALID');
    expect(
      code({ preopens: [{ guestPath: '/x', kind: 'host', hostPath: path.join(scratch, 'missing') }] }),
    ).toBe('FORGE_VFS_HOST_DIR_INVALID');
  });

  it('never throws a host exception, whatever the guest passes (fuzzed)', () => {
    fs.mkdirSync(path.join(scratch, 'sandbox'));
    fs.writeFileSync(path.join(scratch, 'sandbox', 'a'), 'inside');
    fs.symlinkSync('..', path.join(scratch, 'sandbox', 'link'));
    fs.writeFileSync(path.join(scratch, 'sentinel'), 'untouched');
    const names = PREVIEW1.filter((name) => name !== 'proc_exit');
    const definitionsByName = new Map(createWasiPreview1().definitions.map((d) => [d.name, d]));
    const i32 = fc.oneof(
      fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 8, 9, 16, 64, 1000, 1010, 1030, 1040, 2000, 65_535, 65_536),
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    );
    const i64 = fc.oneof(
      fc.constantFrom(0n, 1n, -1n, 64n, (1n << 63n) - 1n, -(1n << 63n)),
      fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
    );
    const call = fc.constantFrom(...names).chain((name) => {
      const params = definitionsByName.get(name)!.params;
      return fc.tuple(fc.constant(name), fc.tuple(...params.map((type) => (type === 'i64' ? i64 : i32))));
    });
    fc.assert(
      fc.property(
        fc.array(call, { minLength: 1, maxLength: 25 }),
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        (calls, noise) => {
          const guest = directWasi({
            preopens: [
              { guestPath: '/', kind: 'host', hostPath: path.join(scratch, 'sandbox') },
              { guestPath: '/mem', kind: 'memory', files: { 'f/g.txt': 'memory' } },
            ],
            stdin: 'input',
            sleep: () => {},
            limits: { maxSleepMs: 0, maxFileSize: 1 << 16 },
            stdout: { maxBytes: 1024 },
          });
          guest.put(1000, 'a');
          guest.put(1010, 'sub/../a');
          guest.put(1030, '../sentinel');
          guest.put(1040, 'link/sentinel');
          guest.bytes().set(noise, 2000);
          try {
            for (const [name, args] of calls) {
              const result = guest.call(name, ...args);
              expect(typeof result).toBe('number');
              expect(Number.isInteger(result) && (result as number) >= 0 && (result as number) <= 76).toBe(
                true,
              );
            }
          } finally {
            guest.wasi.close();
          }
        },
      ),
      { numRuns: 300 },
    );
    expect(fs.readFileSync(path.join(scratch, 'sentinel'), 'utf8')).toBe('untouched');
    expect(fs.readdirSync(scratch).sort()).toEqual(['sandbox', 'sentinel']);
  });
});

describe('WASI preview1 hostile inputs', () => {
  it('bounds and checks path arguments before using them', () => {
    const guest = memoryGuest();
    expect(guest.call('path_open', 3, 0, 1000, 5000, 0, 0n, 0n, 0, 16)).toBe(Errno.NAMETOOLONG);
    expect(guest.call('path_open', 3, 0, 65_530, 100, 0, 0n, 0n, 0, 16)).toBe(Errno.FAULT);
    guest.put(1000, 'a.txt\0');
    expect(guest.call('path_open', 3, 0, 1000, 6, 0, 0n, 0n, 0, 16)).toBe(Errno.INVAL);
    guest.bytes().set([0xff, 0xfe], 1000);
    expect(guest.call('path_open', 3, 0, 1000, 2, 0, 0n, 0n, 0, 16)).toBe(Errno.ILSEQ);
    guest.put(1000, `${'x'.repeat(300)}`);
    expect(guest.call('path_open', 3, 0, 1000, 300, 0, 0n, 0n, 0, 16)).toBe(Errno.NAMETOOLONG);
    // The output pointer is checked before anything is opened: no descriptor leaks.
    guest.put(1000, 'a.txt');
    expect(guest.call('path_open', 3, 0, 1000, 5, 0, 2n, 0n, 0, 65_534)).toBe(Errno.FAULT);
    expect(guest.wasi.openFdCount()).toBe(4);
  });

  it('refuses too many iovecs, poll subscriptions and descriptors', () => {
    const guest = memoryGuest({ limits: { maxOpenFds: 5 } });
    expect(guest.call('fd_write', 1, 0, 100_000, 16)).toBe(Errno.INVAL);
    expect(guest.call('poll_oneoff', 0, 1000, 0, 16)).toBe(Errno.INVAL);
    expect(guest.call('poll_oneoff', 0, 1000, 0x7fff_ffff, 16)).toBe(Errno.INVAL);
    expect(guest.open('a.txt')).toBe(4);
    expect(guest.open('a.txt')).toBe(-Errno.MFILE);
  });

  it('enforces rights: read-only descriptors cannot write, rights can only be dropped', () => {
    const guest = memoryGuest();
    const fd = guest.open('a.txt', 0, Rights.FD_READ);
    expect(guest.write(fd, 'x')).toBe(Errno.NOTCAPABLE);
    expect(guest.call('fd_fdstat_set_rights', fd, Rights.FD_READ | Rights.FD_WRITE, 0n)).toBe(
      Errno.NOTCAPABLE,
    );
    expect(guest.call('fd_fdstat_set_rights', fd, 0n, 0n)).toBe(Errno.SUCCESS);
    expect(guest.call('fd_read', fd, 2000, 0, 16)).toBe(Errno.NOTCAPABLE);
    // Asking to write a directory is EISDIR.
    guest.put(1000, '.');
    expect(guest.call('path_open', 3, 0, 1000, 1, Oflags.DIRECTORY, Rights.FD_WRITE, 0n, 0, 16)).toBe(
      Errno.ISDIR,
    );
  });

  it('limits file size (EFBIG) and in-memory bytes (ENOSPC)', () => {
    const small = memoryGuest({ limits: { maxFileSize: 8 } });
    const fd = small.open('big', Oflags.CREAT);
    expect(small.write(fd, '12345678')).toBe(Errno.SUCCESS);
    expect(small.write(fd, '9')).toBe(Errno.FBIG);
    expect(small.call('fd_filestat_set_size', fd, 9n)).toBe(Errno.FBIG);
    expect(small.call('fd_allocate', fd, 4n, 5n)).toBe(Errno.FBIG);
    const tiny = memoryGuest({ limits: { maxMemoryFsBytes: 16 } });
    const other = tiny.open('big', Oflags.CREAT);
    expect(tiny.write(other, 'x'.repeat(64))).toBe(Errno.NOSPC);
  });

  it('keeps file offsets, append mode and pread/pwrite apart', () => {
    const guest = memoryGuest();
    const fd = guest.open('log', Oflags.CREAT, ALL_FILE, 1);
    guest.write(fd, 'abc');
    expect(guest.call('fd_seek', fd, 0n, 0, 16)).toBe(Errno.SUCCESS);
    guest.write(fd, 'def');
    expect(guest.call('fd_tell', fd, 16)).toBe(Errno.SUCCESS);
    expect(guest.u64(16)).toBe(6n);
    expect(guest.call('fd_seek', fd, -7n, 1, 16)).toBe(Errno.INVAL);
    new DataView(guest.memory.view(0, 1).buffer).setUint32(2000, 4000, true);
    new DataView(guest.memory.view(0, 1).buffer).setUint32(2004, 10, true);
    expect(guest.call('fd_pread', fd, 2000, 1, 2n, 16)).toBe(Errno.SUCCESS);
    expect(guest.text(4000, guest.u32(16))).toBe('cdef');
  });

  it('lists directories in pages with stable cookies', () => {
    const files = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`file-${i}`, '']));
    const guest = directWasi({ preopens: [{ guestPath: '/m', kind: 'memory', files }] });
    const seen: string[] = [];
    let cookie = 0n;
    for (let page = 0; page < 100; page += 1) {
      expect(guest.call('fd_readdir', 3, 4000, 100, cookie, 16)).toBe(Errno.SUCCESS);
      const used = guest.u32(16);
      let offset = 4000;
      while (offset + 24 <= 4000 + used) {
        const length = guest.u32(offset + 16);
        if (offset + 24 + length > 4000 + used) break;
        seen.push(guest.text(offset + 24, length));
        cookie = guest.u64(offset);
        offset += 24 + length;
      }
      if (used < 100) break;
    }
    expect(seen.sort()).toEqual(['.', '..', ...Object.keys(files)].sort());
  });

  it('refuses to create a symlink pointing outside the preopen', () => {
    const guest = memoryGuest();
    const target = guest.put(1000, '../outside');
    const name = guest.put(1100, 'evil');
    expect(guest.call('path_symlink', 1000, target, 3, 1100, name)).toBe(Errno.NOTCAPABLE);
    guest.put(1000, '/etc/passwd');
    expect(guest.call('path_symlink', 1000, 11, 3, 1100, name)).toBe(Errno.NOTCAPABLE);
    guest.put(1000, 'x/../a.txt');
    expect(guest.call('path_symlink', 1000, 10, 3, 1100, name)).toBe(Errno.SUCCESS);
    expect(guest.call('path_readlink', 3, 1100, name, 2000, 4, 16)).toBe(Errno.SUCCESS);
    expect(guest.text(2000, guest.u32(16))).toBe('x/..');
  });

  it('answers socket calls with EBADF or ENOTSOCK: sockets are not offered', () => {
    const guest = memoryGuest();
    expect(guest.call('sock_shutdown', 1, 1)).toBe(Errno.NOTSOCK);
    expect(guest.call('sock_recv', 99, 0, 0, 0, 0, 0)).toBe(Errno.BADF);
    expect(guest.call('sock_accept', 3, 0, 16)).toBe(Errno.NOTSOCK);
    expect(guest.call('sock_send', 3, 0, 0, 0, 16)).toBe(Errno.NOTSOCK);
  });

  it('polls: descriptors are ready at once, clocks sleep through the injected sleeper up to the cap', () => {
    const clock = new ManualClock(0);
    const slept: number[] = [];
    const guest = memoryGuest({
      clock,
      stdin: 'abc',
      sleep: (ms) => (slept.push(ms), clock.advance(ms)),
      limits: { maxSleepMs: 50 },
    });
    const view = new DataView(guest.memory.view(0, 1).buffer);
    const subscribe = (at: number, userdata: bigint, tag: number, fdOrClock: number, timeout = 0n) => {
      view.setBigUint64(at, userdata, true);
      view.setUint8(at + 8, tag);
      view.setUint32(at + 16, fdOrClock, true);
      view.setBigUint64(at + 24, timeout, true);
      view.setUint16(at + 40, 0, true);
    };
    subscribe(1000, 7n, 0, 1, 1_000_000_000n);
    subscribe(1048, 8n, 1, 0);
    expect(guest.call('poll_oneoff', 1000, 2000, 2, 16)).toBe(Errno.SUCCESS);
    expect(guest.u32(16)).toBe(1);
    expect([guest.u64(2000), guest.u64(2016)]).toEqual([8n, 3n]);
    expect(slept).toEqual([]);
    expect(guest.call('poll_oneoff', 1000, 2000, 1, 16)).toBe(Errno.SUCCESS);
    expect(slept).toEqual([50]);
    expect([guest.u32(16), guest.u64(2000)]).toEqual([1, 7n]);
  });
});
