import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHostFileSystem,
  createMemoryFileSystem,
  type VfsDirectory,
  type VirtualFileSystem,
} from '../../index';
import { Errno, LOOKUP_SYMLINK_FOLLOW, Oflags, Rights } from '../wasiConstants';
import { errnoOf } from '../wasiErrno';
import { resolvePath } from '../vfs/pathResolver';
import { directWasi } from './fixtures/harness';

/**
 * The tree every confinement test uses: a secret next to the sandbox, and inside the sandbox
 * symlinks planted to lead out (`up`, `abs`, `deep/out`, `chain`), loops, and harmless ones.
 */
const SECRET = 'TOP SECRET';
function plant(dir: VfsDirectory): void {
  dir
    .openFile('secret.txt', { create: true, exclusive: true, truncate: false, read: false, write: true })
    .write(new TextEncoder().encode(SECRET), 0n);
  dir.mkdir('sandbox');
  const sandbox = dir.openDirectory('sandbox');
  sandbox
    .openFile('inside.txt', { create: true, exclusive: true, truncate: false, read: false, write: true })
    .write(new TextEncoder().encode('inside'), 0n);
  sandbox.mkdir('sub');
  sandbox.mkdir('deep');
  sandbox.symlink('..', 'up');
  sandbox.symlink('/', 'abs');
  sandbox.symlink('up', 'chain');
  sandbox.symlink('loop', 'loop');
  sandbox.symlink('sub', 'ok');
  sandbox.symlink('.', 'self');
  const sub = sandbox.openDirectory('sub');
  sub.symlink('../inside.txt', 'back');
  sub.close();
  const deep = sandbox.openDirectory('deep');
  deep.symlink('../..', 'out');
  deep.close();
  sandbox.close();
}

const PARTS = [
  '..',
  '.',
  '',
  'up',
  'abs',
  'chain',
  'loop',
  'ok',
  'self',
  'sub',
  'deep',
  'out',
  'back',
  'inside.txt',
  'secret.txt',
  'sandbox',
  'etc',
];
const guestPath = fc
  .tuple(fc.boolean(), fc.array(fc.constantFrom(...PARTS), { minLength: 1, maxLength: 8 }))
  .map(([absolute, parts]) => `${absolute ? '/' : ''}${parts.join('/')}`);

let scratch: string;
let hostFs: VirtualFileSystem;
let pathAnchoredFs: VirtualFileSystem;
let memoryFs: VirtualFileSystem;
beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'forgeone-vfs-'));
  plant(createHostFileSystem(scratch).root());
  hostFs = createHostFileSystem(path.join(scratch, 'sandbox'));
  pathAnchoredFs = createHostFileSystem(path.join(scratch, 'sandbox'), { anchor: 'path' });
  memoryFs = createMemoryFileSystem();
  plant(memoryFs.root());
});
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** Where the host file system can show which directory a descriptor really is (/proc/self/fd). */
const linux = process.platform === 'linux';
const resolveOptions = (followFinal: boolean) => ({ followFinal, maxSymlinkHops: 32, maxPathBytes: 4096 });

describe('capability-scoped file systems', () => {
  it.skipIf(!linux).each(['procfd', 'path'])(
    'no path resolves outside its preopen: host directory with planted symlinks, %s anchor (property)',
    (anchor) => {
      const real = fs.realpathSync(path.join(scratch, 'sandbox'));
      const root = (anchor === 'path' ? pathAnchoredFs : hostFs).root();
      fc.assert(
        fc.property(guestPath, fc.boolean(), (p, follow) => {
          try {
            const resolved = resolvePath(root, p, resolveOptions(follow));
            try {
              // The directory the walk ended in really is the sandbox or below it.
              const fd = (resolved.parent as unknown as { fd: number }).fd;
              const where = fs.readlinkSync(`/proc/self/fd/${fd}`);
              expect(where === real || where.startsWith(`${real}/`)).toBe(true);
              expect(resolved.components).not.toContain('..');
            } finally {
              resolved.release();
            }
          } catch (error) {
            expect([Errno.NOTCAPABLE, Errno.NOENT, Errno.NOTDIR, Errno.LOOP]).toContain(errnoOf(error));
          }
        }),
        { numRuns: 500 },
      );
      root.close();
    },
  );

  it('no path resolves outside its directory descriptor: in-memory tree (property)', () => {
    const top = memoryFs.root();
    const sandbox = top.openDirectory('sandbox');
    const outside = top.lstat('secret.txt').ino;
    fc.assert(
      fc.property(guestPath, fc.boolean(), (p, follow) => {
        try {
          const resolved = resolvePath(sandbox, p, resolveOptions(follow));
          // Never the root above the sandbox, never the secret next to it.
          expect(resolved.parent.stat().ino).not.toBe(top.stat().ino);
          if (resolved.name !== null) {
            try {
              expect(resolved.parent.lstat(resolved.name).ino).not.toBe(outside);
            } catch (error) {
              expect(errnoOf(error)).toBe(Errno.NOENT);
            }
          }
        } catch (error) {
          expect([Errno.NOTCAPABLE, Errno.NOENT, Errno.NOTDIR, Errno.LOOP]).toContain(errnoOf(error));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('no WASI call reads the secret, whatever the path (property, both kinds)', () => {
    const preopens = [
      { guestPath: '/host', kind: 'fs' as const, fileSystem: hostFs },
      { guestPath: '/mem', kind: 'fs' as const, fileSystem: memoryFs },
    ];
    const guest = directWasi({ preopens });
    // fd 5: the in-memory sandbox, opened through the memory root (fd 4).
    guest.put(1000, 'sandbox');
    expect(guest.call('path_open', 4, 0, 1000, 7, Oflags.DIRECTORY, Rights.PATH_OPEN, -1n, 0, 16)).toBe(
      Errno.SUCCESS,
    );
    const memorySandbox = guest.u32(16);
    fc.assert(
      fc.property(guestPath, fc.boolean(), fc.constantFrom(3, memorySandbox), (p, follow, fd) => {
        const len = guest.put(1000, p);
        const errno = guest.call(
          'path_open',
          fd,
          follow ? LOOKUP_SYMLINK_FOLLOW : 0,
          1000,
          len,
          0,
          Rights.FD_READ,
          0n,
          0,
          16,
        );
        if (errno !== Errno.SUCCESS) return;
        const opened = guest.u32(16);
        new DataView(guest.memory.view(0, 1).buffer).setUint32(2000, 3000, true);
        new DataView(guest.memory.view(0, 1).buffer).setUint32(2004, 64, true);
        const read = guest.call('fd_read', opened, 2000, 1, 2100);
        if (read === Errno.SUCCESS) expect(guest.text(3000, guest.u32(2100))).not.toContain('SECRET');
        expect(guest.call('fd_close', opened)).toBe(Errno.SUCCESS);
        const where = guest.recorder.events().at(-3)?.args.path;
        expect(
          typeof where === 'string' && (where.startsWith('/host') || where.startsWith('/mem/sandbox')),
        ).toBe(true);
      }),
      { numRuns: 400 },
    );
    guest.wasi.close();
  });

  it('ends symlink bombs and loops with ELOOP', () => {
    const fileSystem = createMemoryFileSystem();
    const root = fileSystem.root();
    root.symlink(`${'bomb/'.repeat(800)}bomb`, 'bomb');
    root.symlink('loop', 'loop');
    for (const p of ['bomb', 'loop/x', 'bomb/x']) {
      expect(() => resolvePath(root, p, resolveOptions(true))).toThrow(
        expect.objectContaining({ errno: Errno.LOOP }),
      );
    }
  });

  it('refuses to act when the path changed between the policy decision and the call', () => {
    const dir = fs.mkdtempSync(path.join(scratch, 'race-'));
    fs.mkdirSync(path.join(dir, 'a'));
    fs.writeFileSync(path.join(dir, 'a', 'f.txt'), 'allowed');
    fs.mkdirSync(path.join(dir, 'private'));
    fs.writeFileSync(path.join(dir, 'private', 'f.txt'), 'private');
    const guest = directWasi({ preopens: [{ guestPath: '/d', kind: 'host', hostPath: dir }] });
    const definition = guest.wasi.definitions.find((d) => d.name === 'path_open')!;
    const len = guest.put(1000, 'a/f.txt');
    const args = [3, 0, 1000, len, 0, Rights.FD_READ, 0n, 0, 16];
    const decoded = definition.decode(args, guest.memory);
    expect(decoded.path).toBe('/d/a/f.txt');
    // Another process swaps `a` for a symlink to `private` after the gate decided on /d/a/f.txt.
    fs.renameSync(path.join(dir, 'a'), path.join(dir, 'a.old'));
    fs.symlinkSync('private', path.join(dir, 'a'));
    const context = { containerId: 'c', identity: {}, memory: guest.memory } as never;
    expect(definition.execute({ context, args, decoded })).toBe(Errno.NOTCAPABLE);
    guest.wasi.close();
  });

  it('keeps an open directory descriptor on the directory it opened, even if its path is swapped', () => {
    const dir = fs.mkdtempSync(path.join(scratch, 'swap-'));
    fs.mkdirSync(path.join(dir, 'box', 'work'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'outside.txt'), 'SECRET');
    const guest = directWasi({
      preopens: [{ guestPath: '/', kind: 'host', hostPath: path.join(dir, 'box') }],
    });
    guest.put(1000, 'work');
    expect(
      guest.call(
        'path_open',
        3,
        0,
        1000,
        4,
        Oflags.DIRECTORY,
        Rights.PATH_OPEN | Rights.PATH_CREATE_FILE,
        -1n,
        0,
        16,
      ),
    ).toBe(0);
    const work = guest.u32(16);
    fs.renameSync(path.join(dir, 'box', 'work'), path.join(dir, 'box', 'moved'));
    fs.symlinkSync(dir, path.join(dir, 'box', 'work'));
    // The held descriptor still means the original directory (now `moved`): creating goes there.
    const len = guest.put(1000, 'outside.txt');
    expect(guest.call('path_open', work, 0, 1000, len, Oflags.CREAT, Rights.FD_WRITE, 0n, 0, 16)).toBe(
      Errno.SUCCESS,
    );
    expect(fs.existsSync(path.join(dir, 'box', 'moved', 'outside.txt'))).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'outside.txt'), 'utf8')).toBe('SECRET');
    // And the swapped-in symlink leads nowhere: it is absolute.
    guest.put(1000, 'work/outside.txt');
    expect(guest.call('path_open', 3, 1, 1000, 16, 0, Rights.FD_READ, 0n, 0, 16)).toBe(Errno.NOTCAPABLE);
    guest.wasi.close();
  });

  it('with the portable path anchor, refuses a held directory whose path was swapped', () => {
    const dir = fs.mkdtempSync(path.join(scratch, 'swap-path-'));
    fs.mkdirSync(path.join(dir, 'box', 'work'), { recursive: true });
    const fileSystem = createHostFileSystem(path.join(dir, 'box'), { anchor: 'path' });
    const root = fileSystem.root();
    const work = root.openDirectory('work');
    fs.renameSync(path.join(dir, 'box', 'work'), path.join(dir, 'box', 'moved'));
    fs.symlinkSync(dir, path.join(dir, 'box', 'work'));
    expect(() => work.mkdir('escaped')).toThrow(expect.objectContaining({ errno: Errno.NOTCAPABLE }));
    expect(fs.existsSync(path.join(dir, 'escaped'))).toBe(false);
    work.close();
    root.close();
  });

  it('reports back exactly the nanosecond times a guest set on a host file', () => {
    const guest = directWasi({
      preopens: [{ guestPath: '/', kind: 'host', hostPath: fs.mkdtempSync(path.join(scratch, 'times-')) }],
    });
    const len = guest.put(1000, 'f');
    expect(
      guest.call(
        'path_open',
        3,
        0,
        1000,
        len,
        Oflags.CREAT,
        Rights.FD_FILESTAT_GET | Rights.FD_FILESTAT_SET_TIMES,
        0n,
        0,
        16,
      ),
    ).toBe(0);
    const fd = guest.u32(16);
    expect(guest.call('fd_filestat_get', fd, 2000)).toBe(0);
    const atim = guest.u64(2040);
    const mtim = 1_700_000_000_123_456_789n;
    expect(guest.call('fd_filestat_set_times', fd, 0n, mtim, 4)).toBe(0);
    expect(guest.call('fd_filestat_get', fd, 2000)).toBe(0);
    expect([guest.u64(2040), guest.u64(2048)]).toEqual([atim, mtim]);
    expect(guest.call('fd_filestat_set_times', fd, 1n, 2n, 1 | 2)).toBe(Errno.INVAL);
    guest.wasi.close();
  });

  it('gives both kinds POSIX rename, link and remove semantics', () => {
    for (const fileSystem of [
      createMemoryFileSystem(),
      createHostFileSystem(fs.mkdtempSync(path.join(scratch, 'posix-'))),
      createHostFileSystem(fs.mkdtempSync(path.join(scratch, 'posix-path-')), { anchor: 'path' }),
    ]) {
      const root = fileSystem.root();
      root.mkdir('d');
      root.mkdir('d2');
      const d = root.openDirectory('d');
      d.mkdir('inner');
      const file = root.openFile('f', {
        create: true,
        exclusive: true,
        truncate: false,
        read: true,
        write: true,
      });
      file.write(new TextEncoder().encode('abc'), 0n);
      const code = (action: () => void) => {
        try {
          action();
          return 0;
        } catch (error) {
          return errnoOf(error);
        }
      };
      expect(code(() => root.rename('d', d, 'x'))).toBe(Errno.INVAL);
      expect(code(() => root.rename('f', root, 'd2'))).toBe(Errno.ISDIR);
      expect(code(() => root.rename('d2', root, 'f'))).toBe(Errno.NOTDIR);
      expect(code(() => root.rename('d2', root, 'd'))).toBe(Errno.NOTEMPTY);
      expect(code(() => root.rmdir('d'))).toBe(Errno.NOTEMPTY);
      expect(code(() => root.unlink('d'))).toBe(Errno.ISDIR);
      expect(code(() => root.link('d', root, 'dl'))).toBe(Errno.PERM);
      expect(code(() => root.link('f', d, 'f-link'))).toBe(0);
      expect(root.lstat('f').nlink).toBe(2n);
      expect(code(() => root.mkdir('f'))).toBe(Errno.EXIST);
      expect(code(() => root.readlink('f'))).toBe(Errno.INVAL);
      expect(code(() => root.openDirectory('f'))).toBe(Errno.NOTDIR);
      const viaLink = d.openFile('f-link', {
        create: false,
        exclusive: false,
        truncate: false,
        read: true,
        write: false,
      });
      const bytes = new Uint8Array(8);
      expect(viaLink.read(bytes, 1n)).toBe(2);
      expect(new TextDecoder().decode(bytes.subarray(0, 2))).toBe('bc');
      viaLink.close();
      file.close();
      d.close();
      root.close();
    }
  });

  it('refuses every change on a read-only file system with EROFS', () => {
    for (const fileSystem of [
      createMemoryFileSystem({ readOnly: true, files: { 'f.txt': 'x' } }),
      createHostFileSystem(scratch, { readOnly: true }),
    ]) {
      const root = fileSystem.root();
      const name = fileSystem.kind === 'memory' ? 'f.txt' : 'secret.txt';
      const attempts: (() => void)[] = [
        () => root.mkdir('new'),
        () => root.unlink(name),
        () => root.symlink('x', 'new'),
        () => root.rename(name, root, 'other'),
        () => root.setTimes(name, 1n, 1n),
        () =>
          root.openFile(name, { create: false, exclusive: false, truncate: false, read: true, write: true }),
        () =>
          root.openFile('new', { create: true, exclusive: false, truncate: false, read: true, write: false }),
      ];
      for (const attempt of attempts) {
        expect(() => attempt()).toThrow();
        try {
          attempt();
        } catch (error) {
          expect(errnoOf(error)).toBe(Errno.ROFS);
        }
      }
      const reader = root.openFile(name, {
        create: false,
        exclusive: false,
        truncate: false,
        read: true,
        write: false,
      });
      expect(() => reader.write(new Uint8Array(1), 0n)).toThrow();
      reader.close();
      root.close();
    }
    expect(fs.readFileSync(path.join(scratch, 'secret.txt'), 'utf8')).toBe(SECRET);
  });
});
