import { randomBytes } from 'node:crypto';
import { systemClock, toForgeError, type Clock, type StoragePort } from '@forgeone/common';

/** The outcome of one self-test check. */
export interface SelfTestCheck {
  readonly name: string;
  readonly ok: boolean;
  /** What was measured, or what failed and its code. */
  readonly detail: string;
  readonly durationMs: number;
}

export interface SelfTestReport {
  readonly ok: boolean;
  readonly checks: readonly SelfTestCheck[];
}

export interface SelfTestOptions {
  readonly clock?: Clock;
  /** When given, a write/read round trip runs against it (in a scratch log and namespace). */
  readonly store?: StoragePort;
}

// (module (import "t" "f" (func $f (param i32) (result i32))) (func (export "run") (result i32) (call $f (i32.const 41))))
/** Where the storage check writes: one record (`last`); its log appends are always rolled back. */
export const SELFTEST_NAMESPACE = 'diagnostics.selftest';

const PROBE_MODULE = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x0a, 0x02, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x00,
  0x01, 0x7f, 0x02, 0x07, 0x01, 0x01, 0x74, 0x01, 0x66, 0x00, 0x00, 0x03, 0x02, 0x01, 0x01, 0x07, 0x07, 0x01,
  0x03, 0x72, 0x75, 0x6e, 0x00, 0x01, 0x0a, 0x08, 0x01, 0x06, 0x00, 0x41, 0x29, 0x10, 0x00, 0x0b,
]);

/**
 * Checks that this machine can run a kernel: WebAssembly with host calls, secure randomness, a sane
 * clock, and (when given) a working store. Every check runs even when an earlier one fails.
 */
export async function runSelfTest(options: SelfTestOptions = {}): Promise<SelfTestReport> {
  const clock = options.clock ?? systemClock;
  const checks: SelfTestCheck[] = [];
  const check = async (name: string, fn: () => string | Promise<string>) => {
    const start = clock.monotonicNs();
    try {
      const detail = await fn();
      checks.push({ name, ok: true, detail, durationMs: elapsedMs(clock, start) });
    } catch (error) {
      const forgeError = toForgeError(error);
      checks.push({ name, ok: false, detail: forgeError.toLine(), durationMs: elapsedMs(clock, start) });
    }
  };

  await check('webassembly', async () => {
    const module = await WebAssembly.compile(PROBE_MODULE);
    const instance = await WebAssembly.instantiate(module, { t: { f: (x: number) => x + 1 } });
    const result = (instance.exports.run as () => number)();
    if (result !== 42) throw new Error(`host call returned ${result}, expected 42`);
    return 'compiled, instantiated and called the host';
  });
  await check('randomness', () => {
    const a = randomBytes(32);
    const b = randomBytes(32);
    if (a.equals(b)) throw new Error('two 32-byte random draws were equal');
    return 'node:crypto randomBytes';
  });
  await check('clock', () => {
    const first = clock.monotonicNs();
    const second = clock.monotonicNs();
    if (second < first) throw new Error('monotonic clock went backwards');
    const now = clock.now();
    if (!Number.isFinite(now) || now <= 0) throw new Error(`wall clock reads ${now}`);
    return `wall clock ${new Date(now).toISOString()}`;
  });
  if (options.store) {
    const store = options.store;
    await check('storage', async () => {
      const marker = `selftest-${clock.now()}-${randomBytes(4).toString('hex')}`;
      // The log round trip runs in a transaction that is then rolled back, and the record is one
      // key overwritten: however often the self-test runs (it is unauthenticated over HTTP), it
      // leaves at most one record behind, never a growing log.
      const headBefore = await store.logHead(SELFTEST_NAMESPACE);
      const rollback = new Error('selftest rollback');
      let readBack: unknown;
      try {
        await store.transaction(async (tx) => {
          const { lastSeq } = await tx.append(SELFTEST_NAMESPACE, [marker]);
          readBack = (await tx.readLog(SELFTEST_NAMESPACE, { fromSeq: lastSeq, limit: 1 }))[0]?.data;
          throw rollback;
        });
      } catch (error) {
        if (error !== rollback) throw error;
      }
      if (readBack !== marker) throw new Error('appended entry did not read back');
      if ((await store.logHead(SELFTEST_NAMESPACE)) !== headBefore)
        throw new Error('a rolled-back append was kept');
      await store.putRecord(SELFTEST_NAMESPACE, 'last', marker);
      if ((await store.getRecord(SELFTEST_NAMESPACE, 'last'))?.value !== marker)
        throw new Error('record did not read back');
      return `${store.kind} store: append and read back (rolled back), record round trip`;
    });
  }
  return { ok: checks.every((c) => c.ok), checks };
}

function elapsedMs(clock: Clock, start: bigint): number {
  return Number(clock.monotonicNs() - start) / 1e6;
}
