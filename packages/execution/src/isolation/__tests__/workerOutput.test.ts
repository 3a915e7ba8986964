import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type EnforcerSpec } from '../../index';
import {
  OUTPUT_RING_BYTES,
  OutputRingReader,
  OutputRingWriter,
  createOutputRing,
  type OutputStream,
} from '../outputRing';
import { allow, testHosts, wat } from '../../__tests__/support/testHosts';

// A worker's guest output crosses to the main thread through a shared ring (outputRing.ts), read a
// moment after the guest wrote it: it must arrive whole, in the order written across stdout and
// stderr, while the guest still runs, and also when the guest is stopped (deadline, trap, quarantine).

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const { host } = testHosts();

/** A guest's `write fd text` calls, as WAT: one fd_write each (iovec at 0, text at 64+). */
function writer(writes: readonly [fd: 1 | 2, text: string][], tail = '', imports = ''): Uint8Array {
  let data = '';
  let body = '';
  let at = 64;
  for (const [fd, chunk] of writes) {
    data += `(data (i32.const ${at}) "${chunk}")`;
    body += `(i32.store (i32.const 0) (i32.const ${at})) (i32.store (i32.const 4) (i32.const ${chunk.length}))
      (drop (call $write (i32.const ${fd}) (i32.const 0) (i32.const 1) (i32.const 8)))`;
    at += chunk.length;
  }
  return wat(`(module
    (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
    ${imports}
    (memory (export "memory") 1) ${data}
    (func (export "_start") ${body} ${tail}))`);
}

/** Writes `count` bytes of `x` to stdout, `chunk` bytes a call (from a page of them). */
const BULK = (count: number, chunk: number) =>
  wat(`(module
    (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 20)
    (func (export "_start") (local $left i32)
      (memory.fill (i32.const 1024) (i32.const 120) (i32.const ${chunk}))
      (local.set $left (i32.const ${count}))
      (block $done (loop $more
        (br_if $done (i32.eqz (local.get $left)))
        (i32.store (i32.const 0) (i32.const 1024)) (i32.store (i32.const 4) (i32.const ${chunk}))
        (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
        (local.set $left (i32.sub (local.get $left) (i32.const ${chunk})))
        (br $more)))))`);

describe('output ring', () => {
  it('hands over every write in order, neighbours of one stream joined (property)', () => {
    const write = fc.tuple(
      fc.constantFrom<OutputStream>('stdout', 'stderr'),
      fc.uint8Array({ maxLength: 900 }),
    );
    const step = fc.oneof(write, fc.constant('drain' as const));
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const ring = createOutputRing();
        const reader = new OutputRingReader(ring);
        const writerEnd = new OutputRingWriter(ring, () => undefined);
        const got: [OutputStream, number[]][] = [];
        const want: [OutputStream, number[]][] = [];
        const add = (list: [OutputStream, number[]][], stream: OutputStream, bytes: Uint8Array) => {
          if (bytes.length === 0) return;
          const last = list.at(-1);
          if (last?.[0] === stream) last[1].push(...bytes);
          else list.push([stream, [...bytes]]);
        };
        const deliver = (stream: OutputStream, bytes: Uint8Array) => got.push([stream, [...bytes]]);
        let pending = 0;
        for (const s of steps) {
          // Never more than the ring holds between two reads: with nobody to read, a writer waits.
          if (s === 'drain' || pending + s[1].length + 5 > OUTPUT_RING_BYTES) {
            reader.drain(deliver);
            pending = 0;
          }
          if (s === 'drain') continue;
          writerEnd.write(s[0], s[1]);
          add(want, s[0], s[1]);
          pending += s[1].length + 5;
          s[1].fill(0xee); // the guest reuses its buffer: what was written must not change
        }
        reader.drain(deliver);
        // Runs may be cut where a read fell; joined per stream change they are the writes, in order.
        const joined: [OutputStream, number[]][] = [];
        for (const [stream, bytes] of got) add(joined, stream, Uint8Array.from(bytes));
        expect(joined).toEqual(want);
      }),
      { numRuns: 150 },
    );
  });
});

describe.each(['worker', 'inline'] as const)('guest output (%s)', (isolation) => {
  it('keeps the order of interleaved stdout and stderr writes', async () => {
    const h = host(isolation);
    const writes: [1 | 2, string][] = [
      [1, 'a'],
      [1, 'b'],
      [2, 'C'],
      [1, 'd'],
      [2, 'E'],
      [2, 'F'],
      [1, 'g'],
    ];
    const seen: string[] = [];
    const run = await h.run(await h.loadModule(writer(writes)), {
      enforcer: allow('wasi.fd_write'),
      onStdout: (bytes) => seen.push(`1:${text(bytes)}`),
      onStderr: (bytes) => seen.push(`2:${text(bytes)}`),
    });
    expect(run.outcome.status).toBe('returned');
    // Neighbouring writes to one stream may arrive joined; their order never changes.
    const order = seen.flatMap((s) => [...s.slice(2)].map((c) => `${s[0]}${c}`));
    expect(order).toEqual(writes.map(([fd, c]) => `${fd}${c}`));
    expect(text(run.instance.stdout())).toBe('abdg');
    expect(text(run.instance.stderr())).toBe('CEF');
  });

  it('a write followed by a spin reaches the listener while the guest runs, and stays in the record after its deadline', async () => {
    const h = host(isolation, { timeoutMs: 3000 });
    const seen: string[] = [];
    const pending = h.run(
      await h.loadModule(
        writer(
          [
            [1, 'working'],
            [2, '...'],
          ],
          '(loop br 0)',
        ),
      ),
      {
        enforcer: allow('wasi.fd_write'),
        onStdout: (bytes) => seen.push(`out ${text(bytes)}`),
        onStderr: (bytes) => seen.push(`err ${text(bytes)}`),
      },
    );
    const run = await pending.then((r) => {
      seen.push('ended');
      return r;
    });
    expect(run.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_LIMIT_TIMEOUT' } });
    if (isolation === 'worker') {
      // Inline, the guest holds this thread until its deadline; in a worker it must not.
      expect(seen).toEqual(['out working', 'err ...', 'ended']);
    }
    expect(text(run.instance.stdout())).toBe('working');
    expect(text(run.instance.stderr())).toBe('...');
  });

  it('output written before a trap or a quarantine is kept', async () => {
    const h = host(isolation);
    const trapped = await h.run(
      await h.loadModule(
        writer(
          [
            [1, 'before'],
            [2, 'trap'],
          ],
          'unreachable',
        ),
      ),
      {
        enforcer: allow('wasi.fd_write'),
      },
    );
    expect(trapped.outcome.status).toBe('trapped');
    expect(text(trapped.instance.stdout())).toBe('before');
    expect(text(trapped.instance.stderr())).toBe('trap');

    const quarantining: EnforcerSpec = {
      mode: 'enforce',
      policy: {
        kind: 'document',
        document: {
          apiVersion: 'forgeone.dev/v1',
          kind: 'Policy',
          metadata: { name: 'quiet' },
          spec: {
            entry: 'base',
            nodes: [
              {
                name: 'base',
                rules: [
                  { id: 'write', action: 'allow', match: { syscall: 'wasi.fd_write' } },
                  {
                    id: 'no-logging',
                    action: 'quarantine',
                    message: 'the guest tried to log',
                    match: { syscall: 'forge.log' },
                  },
                ],
              },
            ],
          },
        },
      },
    };
    const logs = writer(
      [
        [1, 'kept'],
        [2, 'also'],
      ],
      '(drop (call $log (i32.const 64) (i32.const 4))) (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))',
      '(import "forge" "log" (func $log (param i32 i32) (result i32)))',
    );
    const quarantined = await h.run(await h.loadModule(logs), { enforcer: quarantining });
    expect(quarantined.outcome).toMatchObject({
      status: 'trapped',
      error: { code: 'FORGE_CONTAINER_QUARANTINED' },
    });
    // The write after the quarantined call never ran.
    expect(text(quarantined.instance.stdout())).toBe('kept');
    expect(text(quarantined.instance.stderr())).toBe('also');
  });

  it('a megabyte in one write, and many small writes past the ring, arrive whole', async () => {
    const h = host(isolation);
    for (const [count, chunk] of [
      [1 << 20, 1 << 20],
      [200_000, 100],
    ] as const) {
      let got = 0;
      let wrong = 0;
      const run = await h.run(await h.loadModule(BULK(count, chunk)), {
        enforcer: allow('wasi.fd_write'),
        onStdout: (bytes) => {
          got += bytes.length;
          wrong += bytes.filter((b) => b !== 120).length;
        },
      });
      expect(run.outcome.status).toBe('returned');
      expect(got).toBe(count);
      expect(wrong).toBe(0);
      expect(run.instance.stdout().length).toBe(count);
    }
  });
});
