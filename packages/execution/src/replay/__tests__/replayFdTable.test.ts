import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '@forgeone/observer';
import { replayFdTable } from '../replayFdTable';

let seq = 0;
const b64 = (bytes: Buffer) => bytes.toString('base64');
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
};
function call(
  syscall: string,
  params: (number | bigint)[],
  writes: [number, Buffer][] = [],
  more: Partial<TraceEvent> = {},
): TraceEvent {
  seq += 1;
  return {
    seq,
    syscall: `wasi.${syscall}`,
    args: {},
    params,
    action: 'allow',
    executed: true,
    reasons: [],
    result: 0,
    durationNs: -1,
    time: 0,
    writes: writes.map(([ptr, bytes]) => ({ ptr, bytes: b64(bytes) })),
    ...more,
  };
}

describe('replayFdTable', () => {
  seq = 0;
  const events = [
    call('fd_prestat_get', [3, 100], [[100, Buffer.from([0, 0, 0, 0, 4, 0, 0, 0])]]),
    call('fd_prestat_dir_name', [3, 200, 4], [[200, Buffer.from('/tmp')]]),
    // A second preopen whose name the gate recorded as the call's path.
    call('fd_prestat_get', [4, 100], [[100, Buffer.from([0, 0, 0, 0, 2, 0, 0, 0])]], {
      args: { path: '/x' },
    }),
    call('fd_close', [4]),
    call('path_open', [3, 0, 0, 5, 0, 6n, 0n, 0, 300], [[300, u32(4)]], { args: { path: '/tmp/a.txt' } }),
    call('fd_read', [4, 16, 1, 24], [[24, u32(10)]]),
    call('fd_seek', [4, 2n, 1, 32], [[32, u64(12n)]]),
    call('fd_write', [4, 16, 1, 24], [[24, u32(3)]]),
    // A refused open changes nothing.
    call('path_open', [3, 0, 0, 5, 0, 6n, 0n, 0, 300], [], { result: 44, args: { path: '/tmp/b' } }),
    call('path_open', [3, 0, 0, 3, 2, 0n, 0n, 1, 300], [[300, u32(5)]], { args: { path: '/tmp/d' } }),
    call('fd_renumber', [5, 9]),
    call('fd_close', [4]),
  ];

  it('rebuilds the table from the recorded calls up to a seq', () => {
    const at = (s: number) => replayFdTable(events, s);
    expect(at(0).map((f) => [f.fd, f.kind, f.path])).toEqual([
      [0, 'stdio', '<stdin>'],
      [1, 'stdio', '<stdout>'],
      [2, 'stdio', '<stderr>'],
    ]);
    expect(at(1)[3]).toMatchObject({ fd: 3, kind: 'preopen', path: null, openedAt: 1 });
    expect(at(2)[3]).toMatchObject({ path: '/tmp' });
    expect(at(3)[4]).toMatchObject({ fd: 4, kind: 'preopen', path: '/x', openedAt: 3 });
    expect(at(5)[4]).toEqual({
      fd: 4,
      kind: 'file',
      path: '/tmp/a.txt',
      openedAt: 5,
      rightsBase: '0x6',
      rightsInheriting: '0x0',
      fdflags: 0,
      offset: '0',
    });
    expect(at(6)[4]?.offset).toBe('10');
    expect(at(7)[4]?.offset).toBe('12');
    expect(at(8)[4]?.offset).toBe('15');
    expect(at(9)).toHaveLength(5);
    // Opened as a directory with APPEND: its offset is not known from the trace.
    expect(at(10)[5]).toMatchObject({ fd: 5, kind: 'dir', path: '/tmp/d', fdflags: 1, offset: null });
    expect(at(11).map((f) => f.fd)).toEqual([0, 1, 2, 3, 4, 9]);
    expect(at(12).map((f) => f.fd)).toEqual([0, 1, 2, 3, 9]);
  });
});
