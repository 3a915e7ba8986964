import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { GuestMemory } from '../../gate/guestMemory';
import { Errno, Filetype, LOOKUP_SYMLINK_FOLLOW, Oflags, Rights } from '../wasiConstants';
import { scatter, scatterAt, type GuestBuffer } from '../wasiLayout';
import { directWasi } from './fixtures/harness';

/**
 * `path_open` of something that exists is one host open (O_NOFOLLOW) and one fstat: no lstat
 * first, no /proc readlink after. These tests pin that, and that every confinement guarantee the
 * longer way gave still holds: planted symlinks, `..`, absolute paths, swaps by another process.
 */
let scratch: string;
beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'forgeone-open-'));
});
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const linux = process.platform === 'linux';
const FDSTAT = 2000;

/** A preopen `box` (fd 3) with a secret next to it, outside. */
function sandbox() {
  const dir = fs.mkdtempSync(path.join(scratch, 'case-'));
  fs.mkdirSync(path.join(dir, 'box', 'work'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'box', 'input.txt'), 'inside');
  fs.writeFileSync(path.join(dir, 'secret.txt'), 'SECRET');
  const guest = directWasi({ preopens: [{ guestPath: '/', kind: 'host', hostPath: path.join(dir, 'box') }] });
  const open = (fd: number, p: string, oflags = 0, rights = Rights.FD_READ, lookup = 0): number => {
    const len = guest.put(1000, p);
    const errno = guest.call('path_open', fd, lookup, 1000, len, oflags, rights, -1n, 0, 16);
    return errno === Errno.SUCCESS ? guest.u32(16) : -Number(errno);
  };
  const read = (fd: number): string => {
    const view = new DataView(guest.memory.view(0, 1).buffer);
    view.setUint32(1100, 3000, true);
    view.setUint32(1104, 64, true);
    expect(guest.call('fd_read', fd, 1100, 1, 1200)).toBe(Errno.SUCCESS);
    return guest.text(3000, guest.u32(1200));
  };
  const filetype = (fd: number): number => {
    expect(guest.call('fd_fdstat_get', fd, FDSTAT)).toBe(Errno.SUCCESS);
    return guest.bytes()[FDSTAT]!;
  };
  return { dir, box: path.join(dir, 'box'), guest, open, read, filetype };
}

describe('path_open in one step on a host directory', () => {
  it.skipIf(!linux)('opens an existing file with one open and one fstat: no lstat, no readlink', () => {
    const { guest, open, read } = sandbox();
    const lstat = vi.spyOn(fs, 'lstatSync');
    const readlink = vi.spyOn(fs, 'readlinkSync');
    const openSync = vi.spyOn(fs, 'openSync');
    const fstat = vi.spyOn(fs, 'fstatSync');
    const fd = open(3, 'input.txt');
    expect(fd).toBeGreaterThan(3);
    expect(read(fd)).toBe('inside');
    expect(guest.call('fd_close', fd)).toBe(Errno.SUCCESS);
    expect(lstat).not.toHaveBeenCalled();
    expect(readlink).not.toHaveBeenCalled();
    expect(openSync).toHaveBeenCalledTimes(1);
    expect(fstat).toHaveBeenCalledTimes(1);
    guest.wasi.close();
  });

  it('gives a directory opened without O_DIRECTORY a directory descriptor, and answers as the long way did', () => {
    const { box, guest, open, filetype } = sandbox();
    const work = open(3, 'work', 0, Rights.PATH_OPEN | Rights.FD_READDIR);
    expect(work).toBeGreaterThan(3);
    expect(filetype(work)).toBe(Filetype.DIRECTORY);
    fs.writeFileSync(path.join(box, 'work', 'f.txt'), 'f');
    expect(filetype(open(work, 'f.txt'))).toBe(Filetype.REGULAR_FILE);
    // A directory for writing, a file under O_DIRECTORY, nothing there, a directory under O_DIRECTORY.
    expect(open(3, 'work', 0, Rights.FD_WRITE)).toBe(-Errno.ISDIR);
    expect(open(3, 'input.txt', Oflags.DIRECTORY)).toBe(-Errno.NOTDIR);
    expect(open(3, 'missing.txt')).toBe(-Errno.NOENT);
    expect(filetype(open(3, 'work', Oflags.DIRECTORY))).toBe(Filetype.DIRECTORY);
    guest.wasi.close();
  });

  it('still refuses planted symlinks, `..` and absolute paths', () => {
    const { dir, box, guest, open, read } = sandbox();
    fs.symlinkSync(path.join(dir, 'secret.txt'), path.join(box, 'abs'));
    fs.symlinkSync('../secret.txt', path.join(box, 'up'));
    fs.symlinkSync('input.txt', path.join(box, 'fine'));
    for (const p of ['abs', 'up', 'fine']) expect(open(3, p)).toBe(-Errno.LOOP);
    expect(open(3, 'abs', 0, Rights.FD_READ, LOOKUP_SYMLINK_FOLLOW)).toBe(-Errno.NOTCAPABLE);
    expect(open(3, 'up', 0, Rights.FD_READ, LOOKUP_SYMLINK_FOLLOW)).toBe(-Errno.NOTCAPABLE);
    expect(open(3, '../secret.txt')).toBe(-Errno.NOTCAPABLE);
    expect(open(3, 'work/../../secret.txt')).toBe(-Errno.NOTCAPABLE);
    expect(open(3, path.join(dir, 'secret.txt'))).toBe(-Errno.NOTCAPABLE);
    const fine = open(3, 'fine', 0, Rights.FD_READ, LOOKUP_SYMLINK_FOLLOW);
    expect(read(fine)).toBe('inside');
    guest.wasi.close();
  });

  it('opens what the gate decided on, not a symlink another process swapped in after', () => {
    const { dir, box, guest } = sandbox();
    const definition = guest.wasi.definitions.find((d) => d.name === 'path_open')!;
    const len = guest.put(1000, 'input.txt');
    const args = [3, 0, 1000, len, 0, Rights.FD_READ, 0n, 0, 16];
    expect(definition.decode(args, guest.memory).path).toBe('/input.txt');
    fs.renameSync(path.join(box, 'input.txt'), path.join(box, 'input.old'));
    fs.symlinkSync(path.join(dir, 'secret.txt'), path.join(box, 'input.txt'));
    const context = { containerId: 'c', identity: {}, memory: guest.memory } as never;
    // The swapped-in symlink is not followed by the host: the open refuses it.
    expect(definition.execute({ context, args, decoded: definition.decode(args, guest.memory) })).toBe(
      Errno.LOOP,
    );
    guest.wasi.close();
  });

  it('keeps a held directory that another process moved out of the preopen, and nothing around it', () => {
    const { dir, box, guest, open, read } = sandbox();
    const work = open(3, 'work', Oflags.DIRECTORY, Rights.PATH_OPEN | Rights.PATH_CREATE_FILE);
    expect(work).toBeGreaterThan(3);
    // Another host process moves `work` out of the preopen, next to the secret.
    fs.renameSync(path.join(box, 'work'), path.join(dir, 'moved'));
    fs.writeFileSync(path.join(dir, 'moved', 'mine.txt'), 'mine');
    // The descriptor still means that directory (cap-std semantics, as for every other call on it)...
    expect(read(open(work, 'mine.txt'))).toBe('mine');
    expect(open(work, 'created.txt', Oflags.CREAT, Rights.FD_WRITE)).toBeGreaterThan(3);
    expect(fs.existsSync(path.join(dir, 'moved', 'created.txt'))).toBe(true);
    // ...and leads nowhere else: not up to where it now sits, not by absolute path, not by symlink.
    expect(open(work, '../secret.txt')).toBe(-Errno.NOTCAPABLE);
    expect(open(work, path.join(dir, 'secret.txt'))).toBe(-Errno.NOTCAPABLE);
    fs.symlinkSync('../secret.txt', path.join(dir, 'moved', 'out'));
    expect(open(work, 'out')).toBe(-Errno.LOOP);
    expect(open(work, 'out', 0, Rights.FD_READ, LOOKUP_SYMLINK_FOLLOW)).toBe(-Errno.NOTCAPABLE);
    // From the preopen, the old name is gone.
    expect(open(3, 'work/mine.txt')).toBe(-Errno.NOENT);
    expect(fs.readFileSync(path.join(dir, 'secret.txt'), 'utf8')).toBe('SECRET');
    guest.wasi.close();
  });

  it('scatters a read in chunks exactly as in one piece (property)', () => {
    const lengths = fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(
        lengths,
        fc.integer({ min: 0, max: 200 }),
        fc.array(fc.integer({ min: 1, max: 50 })),
        (lens, size, cuts) => {
          const layout = (): GuestBuffer[] => {
            let ptr = 8;
            return lens.map((len) => {
              const buffer = { ptr, len };
              ptr += len + 3;
              return buffer;
            });
          };
          const data = Uint8Array.from({ length: size }, (_, i) => (i % 251) + 1);
          const whole = new GuestMemory();
          whole.bind(new WebAssembly.Memory({ initial: 1 }));
          scatter(whole, layout(), data);
          const chunked = new GuestMemory();
          chunked.bind(new WebAssembly.Memory({ initial: 1 }));
          let at = 0;
          for (const cut of [...cuts, size]) {
            const end = Math.min(size, at + cut);
            scatterAt(chunked, layout(), data.subarray(at, end), at);
            at = end;
            if (at >= size) break;
          }
          expect(chunked.view(0, 400)).toEqual(whole.view(0, 400));
        },
      ),
      { numRuns: 300 },
    );
  });
});
