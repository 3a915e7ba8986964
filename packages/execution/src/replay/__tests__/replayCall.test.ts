import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '@forgeone/observer';
import { callsBefore, replayCallLine, replayCallOf } from '../replayCall';
import { guestGlobals } from '../guestGlobals';
import { reservedGlobalIndex, stateGlobalName as reservedGlobalName } from '../../module/stateExports';

const call = (seq: number, more: Partial<TraceEvent> = {}): TraceEvent => ({
  seq,
  syscall: 'wasi.random_get',
  args: { len: 8 },
  params: [16, 8],
  action: 'allow',
  executed: true,
  reasons: [],
  result: 0,
  durationNs: -1,
  time: 0,
  ...more,
});

describe('callsBefore', () => {
  const events = Array.from({ length: 15 }, (_, i) => call(i + 1));

  it('keeps the last ten replayed calls below the divergent seq, oldest first', () => {
    expect(callsBefore(events, 14, 14).map((c) => c.seq)).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    expect(callsBefore(events, 3, 4).map((c) => c.seq)).toEqual([1, 2, 3]);
    expect(callsBefore(events, 0, 1)).toEqual([]);
    // A re-executed call that returned something else was counted as replayed: it is not "before".
    expect(callsBefore(events, 5, 5).map((c) => c.seq)).toEqual([1, 2, 3, 4]);
  });

  it('makes calls JSON-safe and prints them on one line', () => {
    const big = call(3, {
      syscall: 'wasi.clock_time_get',
      args: { id: 0, precision: 1n, path: 'a "b"' },
      params: [0, 1n, 512],
      result: '18446744073709551615',
    });
    const shown = replayCallOf(big);
    expect(shown).toEqual({
      seq: 3,
      syscall: 'wasi.clock_time_get',
      args: { id: 0, precision: '1', path: 'a "b"' },
      params: [0, '1', 512],
      result: '18446744073709551615',
    });
    expect(JSON.parse(JSON.stringify(shown))).toEqual(shown);
    expect(replayCallLine(shown)).toBe(
      '#3 wasi.clock_time_get(id=0, precision="1", path="a \\"b\\"") -> 18446744073709551615',
    );
    expect(replayCallLine(replayCallOf(call(1, { result: null })))).toBe('#1 wasi.random_get(len=8) -> none');
    expect(replayCallLine(replayCallOf(call(2, { args: { path: 'x'.repeat(500) } })), 20)).toBe(
      `#2 wasi.random_get(path="${'x'.repeat(14)}…) -> 0`,
    );
  });
});

describe('guestGlobals', () => {
  it('reads every exported global once, with reserved names mapped back to their index', () => {
    const counter = new WebAssembly.Global({ value: 'i32', mutable: true }, 7);
    const hidden = new WebAssembly.Global({ value: 'i64', mutable: true }, 9n);
    const exports: WebAssembly.Exports = {
      memory: new WebAssembly.Memory({ initial: 1 }),
      counter,
      [reservedGlobalName(2)]: counter,
      [reservedGlobalName(0)]: hidden,
      // The host's own metering global is not the guest's.
      __forge_fuel: new WebAssembly.Global({ value: 'i64', mutable: true }, 5n),
      plain: new WebAssembly.Global({ value: 'f64' }, 1.5),
    };
    expect(guestGlobals(exports)).toEqual([
      { index: 0, names: [], value: 9n },
      { index: 2, names: ['counter'], value: 7 },
      { index: null, names: ['plain'], value: 1.5 },
    ]);
    // V8 hands out a new Global per export: the export section's index ties two names to one global.
    const twice: WebAssembly.Exports = {
      counter: new WebAssembly.Global({ value: 'i32', mutable: true }, 7),
      [reservedGlobalName(2)]: new WebAssembly.Global({ value: 'i32', mutable: true }, 7),
    };
    expect(guestGlobals(twice, (name) => (name === 'counter' ? 2 : undefined))).toEqual([
      { index: 2, names: ['counter'], value: 7 },
    ]);
    expect(reservedGlobalIndex('__forge_global_12')).toBe(12);
    expect(reservedGlobalIndex('__forge_global_x')).toBeUndefined();
    expect(reservedGlobalIndex('global_1')).toBeUndefined();
  });
});
