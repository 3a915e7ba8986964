import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ManualClock,
  storageLimits,
  type Clock,
  type ForgeErrorCode,
  type JsonValue,
  type StoragePort,
  type StorageOps,
  type StoredRecord,
} from '../index';

/** Opens a fresh, empty store that appends with `clock`. */
export type OpenStore = (clock: Clock) => Promise<StoragePort>;

const START = Date.UTC(2030, 0, 1);

/** Expects `promise` to reject with a ForgeError of `code` whose message matches `message`. */
export async function expectForgeError(
  promise: Promise<unknown>,
  code: ForgeErrorCode,
  message?: RegExp,
): Promise<void> {
  await expect(promise).rejects.toMatchObject({
    name: 'ForgeError',
    code,
    ...(message ? { message: expect.stringMatching(message) } : {}),
  });
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A promise plus the function that resolves it, to hold a transaction open. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Lets every pending callback run a few rounds (no timers: the outcome never depends on speed). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i += 1) await new Promise<void>((r) => setImmediate(r));
}

async function allEntries(store: StorageOps, log: string): Promise<JsonValue[]> {
  return (await store.readLog(log, { limit: storageLimits.maxPage })).map((entry) => entry.data);
}

/** Everything visible in the fixed names the tests use, for before/after comparisons. */
async function snapshot(store: StorageOps, digests: readonly string[]): Promise<unknown> {
  return {
    log: await store.readLog('audit', { limit: storageLimits.maxPage }),
    other: await store.readLog('other', { limit: storageLimits.maxPage }),
    records: await store.listRecords('ns', { limit: storageLimits.maxPage }),
    blobs: await Promise.all(digests.map(async (d) => [d, await store.hasBlob(d)])),
  };
}

/** UTF-8 byte order, written independently of the stores' code-point comparison. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * The behaviour every StoragePort implementation must share. `open` is called once per test and
 * per property run; the suite closes what it opens.
 */
export function describeStorageContract(name: string, open: OpenStore): void {
  describe(`${name}: storage contract`, () => {
    const opened: StoragePort[] = [];
    let clock: ManualClock;

    async function fresh(): Promise<StoragePort> {
      clock = new ManualClock(START);
      const store = await open(clock);
      opened.push(store);
      return store;
    }

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    });

    describe('logs', () => {
      it('numbers entries from 1, contiguously and separately per log, in append order', async () => {
        const store = await fresh();
        expect(await store.logHead('audit')).toBe(0);
        expect(await store.append('audit', ['a', 'b'])).toEqual({ firstSeq: 1, lastSeq: 2 });
        expect(await store.append('other', [{ x: 1 }])).toEqual({ firstSeq: 1, lastSeq: 1 });
        expect(await store.append('audit', ['c'])).toEqual({ firstSeq: 3, lastSeq: 3 });
        expect(await store.logHead('audit')).toBe(3);
        const entries = await store.readLog('audit');
        expect(entries.map((e) => [e.seq, e.data])).toEqual([
          [1, 'a'],
          [2, 'b'],
          [3, 'c'],
        ]);
        expect(await allEntries(store, 'other')).toEqual([{ x: 1 }]);
      });

      it('stamps entries with the injected clock, in whole milliseconds', async () => {
        const store = await fresh();
        await store.append('audit', [1, 2]);
        clock.advance(1500.7);
        await store.append('audit', [3]);
        const times = (await store.readLog('audit')).map((e) => e.time);
        expect(times).toEqual([START, START, START + 1500]);
      });

      it('keeps concurrent appends contiguous and unique', async () => {
        const store = await fresh();
        const results = await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            store.append(
              'audit',
              Array.from({ length: (i % 3) + 1 }, () => i),
            ),
          ),
        );
        const seqs = results.flatMap(({ firstSeq, lastSeq }) =>
          Array.from({ length: lastSeq - firstSeq + 1 }, (_, k) => firstSeq + k),
        );
        expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, k) => k + 1));
        // Each call's entries are adjacent and in call order.
        const data = await allEntries(store, 'audit');
        expect(data).toEqual(
          results.flatMap(({ firstSeq, lastSeq }, i) => Array(lastSeq - firstSeq + 1).fill(i)),
        );
      });

      it('pages with fromSeq and limit, with a default page of 1000', async () => {
        const store = await fresh();
        await store.append(
          'audit',
          Array.from({ length: 1005 }, (_, i) => i + 1),
        );
        expect((await store.readLog('audit')).length).toBe(storageLimits.defaultPage);
        expect((await store.readLog('audit', { fromSeq: 1000, limit: 3 })).map((e) => e.seq)).toEqual([
          1000, 1001, 1002,
        ]);
        expect((await store.readLog('audit', { fromSeq: 1004 })).map((e) => e.data)).toEqual([1004, 1005]);
        expect(await store.readLog('audit', { fromSeq: 1006 })).toEqual([]);
        expect(await store.readLog('never-written')).toEqual([]);
      });
    });

    describe('records', () => {
      it('versions writes from 1 and deletes', async () => {
        const store = await fresh();
        expect(await store.getRecord('ns', 'k')).toBeUndefined();
        expect(await store.putRecord('ns', 'k', { n: 1 })).toBe(1);
        expect(await store.putRecord('ns', 'k', { n: 2 })).toBe(2);
        expect(await store.getRecord('ns', 'k')).toEqual({ key: 'k', version: 2, value: { n: 2 } });
        expect(await store.getRecord('other-ns', 'k')).toBeUndefined();
        expect(await store.deleteRecord('ns', 'k')).toBe(true);
        expect(await store.deleteRecord('ns', 'k')).toBe(false);
        expect(await store.getRecord('ns', 'k')).toBeUndefined();
        // A deleted record starts over.
        expect(await store.putRecord('ns', 'k', null)).toBe(1);
      });

      it('compare-and-sets with expectedVersion', async () => {
        const store = await fresh();
        await expectForgeError(
          store.putRecord('ns', 'k', 1, { expectedVersion: 1 }),
          'FORGE_STORAGE_CONFLICT',
          /expected at version 1 but it does not exist/,
        );
        expect(await store.putRecord('ns', 'k', 'first', { expectedVersion: 0 })).toBe(1);
        await expectForgeError(
          store.putRecord('ns', 'k', 'again', { expectedVersion: 0 }),
          'FORGE_STORAGE_CONFLICT',
          /it is at version 1/,
        );
        expect(await store.putRecord('ns', 'k', 'second', { expectedVersion: 1 })).toBe(2);
        const stale = store.putRecord('ns', 'k', 'lost update', { expectedVersion: 1 });
        await expect(stale).rejects.toMatchObject({ details: { expectedVersion: 1, currentVersion: 2 } });
        expect(await store.getRecord('ns', 'k')).toEqual({ key: 'k', version: 2, value: 'second' });
      });

      it('lets exactly one of two racing compare-and-sets win', async () => {
        const store = await fresh();
        await store.putRecord('ns', 'counter', 0);
        const outcomes = await Promise.allSettled([
          store.putRecord('ns', 'counter', 1, { expectedVersion: 1 }),
          store.putRecord('ns', 'counter', 2, { expectedVersion: 1 }),
        ]);
        expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
        expect((await store.getRecord('ns', 'counter'))?.version).toBe(2);
      });

      it('lists in code point order and pages with prefix, after and limit', async () => {
        const store = await fresh();
        // UTF-16 order would put the emoji (a surrogate pair, 0xD83D...) before U+FFFD; code point order does not.
        const keys = ['b', 'a/2', 'a/10', 'a/1', 'a', 'ab', '\u{1F600}', '\uFFFD', 'é'];
        for (const key of keys) await store.putRecord('ns', key, key);
        await store.putRecord('elsewhere', 'a/3', 0);
        const all = await store.listRecords('ns');
        expect(all.map((r) => r.key)).toEqual([
          'a',
          'a/1',
          'a/10',
          'a/2',
          'ab',
          'b',
          'é',
          '\uFFFD',
          '\u{1F600}',
        ]);
        expect(all.every((r) => r.value === r.key && r.version === 1)).toBe(true);
        expect((await store.listRecords('ns', { prefix: 'a/' })).map((r) => r.key)).toEqual([
          'a/1',
          'a/10',
          'a/2',
        ]);
        expect((await store.listRecords('ns', { prefix: 'a/', after: 'a/1' })).map((r) => r.key)).toEqual([
          'a/10',
          'a/2',
        ]);
        expect((await store.listRecords('ns', { after: 'ab', limit: 2 })).map((r) => r.key)).toEqual([
          'b',
          'é',
        ]);
        expect(await store.listRecords('ns', { prefix: 'zz' })).toEqual([]);
        expect(await store.listRecords('empty-ns')).toEqual([]);

        // Paging by `after` visits every key exactly once.
        const seen: string[] = [];
        let page: StoredRecord[];
        let after: string | undefined;
        do {
          page = await store.listRecords('ns', after === undefined ? { limit: 2 } : { limit: 2, after });
          seen.push(...page.map((r) => r.key));
          after = page.at(-1)?.key;
        } while (page.length === 2);
        expect(seen).toEqual(all.map((r) => r.key));
      });

      it('matches prefixes exactly at the edges of the code point range', async () => {
        const store = await fresh();
        const keys = ['p\uD7FF', 'p\uD7FFx', 'p\uE000', 'p\u{10FFFF}', 'p\u{10FFFF}z', 'q', 'p'];
        for (const key of keys) await store.putRecord('ns', key, 0);
        const list = async (prefix: string) => (await store.listRecords('ns', { prefix })).map((r) => r.key);
        expect(await list('p\uD7FF')).toEqual(['p\uD7FF', 'p\uD7FFx']);
        expect(await list('p\u{10FFFF}')).toEqual(['p\u{10FFFF}', 'p\u{10FFFF}z']);
        expect(await list('p')).toEqual([
          'p',
          'p\uD7FF',
          'p\uD7FFx',
          'p\uE000',
          'p\u{10FFFF}',
          'p\u{10FFFF}z',
        ]);
      });
    });

    describe('commitRecordsNow', () => {
      it('commits a batch of puts and deletes at once, versioned like putRecord', async () => {
        const store = await fresh();
        await store.putRecord('kv/app', 'old', 'x');
        await store.putRecord('kv/app', 'gone', 'y');
        store.commitRecordsNow!('kv/app', [
          { key: 'old', value: 'x2' },
          { key: 'new', value: { n: 1 } },
          { key: 'gone', value: undefined },
        ]);
        // Synchronous: already there, before any await.
        const records = await store.listRecords('kv/app');
        expect(records).toEqual([
          { key: 'new', version: 1, value: { n: 1 } },
          { key: 'old', version: 2, value: 'x2' },
        ]);
      });

      it('writes nothing of a batch with one bad write', async () => {
        const store = await fresh();
        expect(() =>
          store.commitRecordsNow!('kv/app', [
            { key: 'a', value: 1 },
            { key: '', value: 2 },
          ]),
        ).toThrow(expect.objectContaining({ code: 'FORGE_STORAGE_INVALID' }) as Error);
        expect(await store.listRecords('kv/app')).toEqual([]);
      });

      it('refuses while a transaction holds the store (FORGE_STORAGE_BUSY), and works once it ends', async () => {
        const store = await fresh();
        const release = deferred();
        const entered = deferred();
        const tx = store.transaction(async (t) => {
          await t.putRecord('kv/app', 'tx', 1);
          entered.resolve();
          await release.promise;
          throw new Error('roll back');
        });
        await entered.promise;
        expect(() => store.commitRecordsNow!('kv/app', [{ key: 'now', value: 1 }])).toThrow(
          expect.objectContaining({ code: 'FORGE_STORAGE_BUSY' }) as Error,
        );
        release.resolve();
        await expect(tx).rejects.toThrow('roll back');
        store.commitRecordsNow!('kv/app', [{ key: 'now', value: 1 }]);
        expect((await store.listRecords('kv/app')).map((r) => r.key)).toEqual(['now']);
      });

      it('is refused after close', async () => {
        const store = await fresh();
        await store.close();
        expect(() => store.commitRecordsNow!('kv/app', [{ key: 'a', value: 1 }])).toThrow(
          expect.objectContaining({ code: 'FORGE_STORAGE_CLOSED' }) as Error,
        );
      });
    });

    describe('blobs', () => {
      it('stores bytes under their SHA-256 and reads them back', async () => {
        const store = await fresh();
        const bytes = new Uint8Array([0, 1, 2, 255, 128]);
        const digest = await store.putBlob(bytes);
        expect(digest).toBe(sha256(bytes));
        expect(await store.hasBlob(digest)).toBe(true);
        expect(await store.getBlob(digest)).toEqual(bytes);
        const empty = await store.putBlob(new Uint8Array(0));
        expect(empty).toBe(sha256(new Uint8Array(0)));
        expect(await store.getBlob(empty)).toEqual(new Uint8Array(0));
      });

      it('is idempotent and deletes', async () => {
        const store = await fresh();
        const bytes = Buffer.from('same bytes');
        const first = await store.putBlob(bytes);
        expect(await store.putBlob(new Uint8Array(bytes))).toBe(first);
        expect(await store.deleteBlob(first)).toBe(true);
        expect(await store.hasBlob(first)).toBe(false);
        expect(await store.getBlob(first)).toBeUndefined();
        expect(await store.deleteBlob(first)).toBe(false);
      });

      it('stores only the viewed part of a Uint8Array', async () => {
        const store = await fresh();
        const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
        const view = backing.subarray(2, 5);
        const digest = await store.putBlob(view);
        expect(digest).toBe(sha256(new Uint8Array([1, 2, 3])));
        expect(await store.getBlob(digest)).toEqual(new Uint8Array([1, 2, 3]));
      });
    });

    describe('transactions', () => {
      it('commits every operation together and returns the function result', async () => {
        const store = await fresh();
        const result = await store.transaction(async (tx) => {
          await tx.append('audit', ['in tx']);
          await tx.putRecord('ns', 'k', 1);
          const digest = await tx.putBlob(new Uint8Array([7]));
          // A transaction reads its own writes.
          expect(await tx.logHead('audit')).toBe(1);
          expect((await tx.getRecord('ns', 'k'))?.value).toBe(1);
          return digest;
        });
        expect(result).toBe(sha256(new Uint8Array([7])));
        expect(await allEntries(store, 'audit')).toEqual(['in tx']);
        expect(await store.getRecord('ns', 'k')).toMatchObject({ version: 1, value: 1 });
        expect(await store.hasBlob(result)).toBe(true);
      });

      it('rolls back every kind of write when the function throws, and rethrows its error', async () => {
        const store = await fresh();
        await store.append('audit', ['kept 1', 'kept 2']);
        await store.putRecord('ns', 'updated', 'before');
        await store.putRecord('ns', 'deleted', 'before');
        const keptBlob = await store.putBlob(new Uint8Array([1]));
        const newBlob = sha256(new Uint8Array([2]));
        const before = await snapshot(store, [keptBlob, newBlob]);

        const failure = new Error('abort on purpose');
        const outcome = store.transaction(async (tx) => {
          await tx.append('audit', ['dropped']);
          await tx.append('other', ['dropped too']);
          await tx.putRecord('ns', 'updated', 'after');
          await tx.putRecord('ns', 'updated', 'after again');
          await tx.putRecord('ns', 'created', 'new');
          await tx.deleteRecord('ns', 'deleted');
          await tx.putBlob(new Uint8Array([2]));
          await tx.deleteBlob(keptBlob);
          expect(await snapshot(tx, [keptBlob, newBlob])).not.toEqual(before);
          throw failure;
        });
        await expect(outcome).rejects.toBe(failure);
        expect(await snapshot(store, [keptBlob, newBlob])).toEqual(before);
        // Sequence numbers taken by the rolled-back append are free again.
        expect(await store.append('audit', ['next'])).toEqual({ firstSeq: 3, lastSeq: 3 });
      });

      it('keeps the transaction going when one of its operations fails and is caught', async () => {
        const store = await fresh();
        await store.putRecord('ns', 'k', 'v1');
        await store.transaction(async (tx) => {
          await tx.append('audit', ['a']);
          await expectForgeError(
            tx.putRecord('ns', 'k', 'x', { expectedVersion: 5 }),
            'FORGE_STORAGE_CONFLICT',
          );
          await expectForgeError(tx.append('audit', ['ok', Number.NaN]), 'FORGE_STORAGE_INVALID');
          await tx.append('audit', ['b']);
        });
        expect(await allEntries(store, 'audit')).toEqual(['a', 'b']);
        expect((await store.getRecord('ns', 'k'))?.value).toBe('v1');
      });

      it('makes operations on the store wait until the running transaction ends', async () => {
        const store = await fresh();
        const release = deferred();
        const entered = deferred();
        const order: string[] = [];
        const tx = store.transaction(async (t) => {
          await t.append('audit', ['tx 1']);
          entered.resolve();
          await release.promise;
          await t.append('audit', ['tx 2']);
          order.push('tx end');
        });
        await entered.promise;
        const outside = store.append('audit', ['outside']).then((r) => {
          order.push('outside append');
          return r;
        });
        const read = store.readLog('audit').then((entries) => {
          order.push('outside read');
          return entries.map((e) => e.data);
        });
        await settle();
        expect(order).toEqual([]);
        release.resolve();
        await tx;
        expect(await outside).toEqual({ firstSeq: 3, lastSeq: 3 });
        // Queued calls run in call order after the commit: the read sees the transaction and the append.
        expect(await read).toEqual(['tx 1', 'tx 2', 'outside']);
        expect(order).toEqual(['tx end', 'outside append', 'outside read']);
      });

      it('runs transactions one at a time, in call order', async () => {
        const store = await fresh();
        const log: string[] = [];
        await Promise.all(
          ['first', 'second', 'third'].map((name) =>
            store.transaction(async (tx) => {
              log.push(`${name} start`);
              await settle();
              await tx.append('audit', [name]);
              log.push(`${name} end`);
            }),
          ),
        );
        expect(log).toEqual([
          'first start',
          'first end',
          'second start',
          'second end',
          'third start',
          'third end',
        ]);
      });

      it('rejects a nested transaction or a store call from inside a transaction instead of deadlocking', async () => {
        const store = await fresh();
        await store.transaction(async (tx) => {
          await tx.append('audit', ['kept']);
          await expectForgeError(
            store.transaction(async () => undefined),
            'FORGE_STORAGE_TRANSACTION',
            /transactions do not nest/,
          );
          await expectForgeError(
            store.append('audit', ['x']),
            'FORGE_STORAGE_TRANSACTION',
            /use the tx handle.*tx\.append/,
          );
          await expectForgeError(store.close(), 'FORGE_STORAGE_TRANSACTION');
        });
        expect(await allEntries(store, 'audit')).toEqual(['kept']);
      });

      it('refuses a transaction handle used after its transaction ended', async () => {
        const store = await fresh();
        let leaked: StorageOps | undefined;
        await store.transaction(async (tx) => {
          leaked = tx;
        });
        await expectForgeError(
          leaked!.append('audit', ['late']),
          'FORGE_STORAGE_TRANSACTION',
          /after its transaction ended/,
        );
        expect(await store.logHead('audit')).toBe(0);
      });

      it('serves store calls again after a transaction fails', async () => {
        const store = await fresh();
        await expect(store.transaction(() => Promise.reject(new Error('no')))).rejects.toThrow('no');
        await expect(
          store.transaction(() => {
            throw new Error('sync throw');
          }),
        ).rejects.toThrow('sync throw');
        expect(await store.append('audit', ['fine'])).toEqual({ firstSeq: 1, lastSeq: 1 });
      });
    });

    describe('validation', () => {
      const badNames: unknown[] = ['', '-leading-dash', 'has space', 'x'.repeat(129), 'ünicode', 42, null];
      it.each(badNames)('rejects the log and namespace name %j', async (bad) => {
        const store = await fresh();
        await expectForgeError(store.append(bad as string, [1]), 'FORGE_STORAGE_INVALID', /invalid log name/);
        await expectForgeError(store.readLog(bad as string), 'FORGE_STORAGE_INVALID', /invalid log name/);
        await expectForgeError(
          store.putRecord(bad as string, 'k', 1),
          'FORGE_STORAGE_INVALID',
          /invalid namespace name/,
        );
        await expectForgeError(
          store.listRecords(bad as string),
          'FORGE_STORAGE_INVALID',
          /invalid namespace name/,
        );
      });

      it('accepts names at the edge of the pattern', async () => {
        const store = await fresh();
        const longest = `a${'b'.repeat(127)}`;
        await store.append(longest, [1]);
        await store.append('0.x_y:z/w-v', [1]);
        expect(await store.logHead(longest)).toBe(1);
      });

      const badKeys: [string, unknown, RegExp][] = [
        ['empty', '', /must not be empty/],
        ['with NUL', 'a\0b', /NUL/],
        ['over 1024 UTF-8 bytes', 'é'.repeat(513), /1026 UTF-8 bytes; the limit is 1024/],
        ['with a lone surrogate', 'a\uD800', /unpaired UTF-16 surrogate/],
        ['not a string', 7, /must be a string/],
      ];
      it.each(badKeys)('rejects a key %s', async (_label, key, message) => {
        const store = await fresh();
        await expectForgeError(store.putRecord('ns', key as string, 1), 'FORGE_STORAGE_INVALID', message);
        await expectForgeError(store.getRecord('ns', key as string), 'FORGE_STORAGE_INVALID', message);
        await expectForgeError(store.deleteRecord('ns', key as string), 'FORGE_STORAGE_INVALID', message);
      });

      it('accepts a key of exactly 1024 UTF-8 bytes', async () => {
        const store = await fresh();
        const key = 'é'.repeat(512);
        expect(await store.putRecord('ns', key, 1)).toBe(1);
        expect((await store.getRecord('ns', key))?.key).toBe(key);
      });

      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic['self'] = cyclic;
      const badValues: [string, unknown, RegExp][] = [
        ['NaN', Number.NaN, /\$ is NaN; only finite numbers/],
        ['Infinity deep inside', { a: { b: [0, Infinity] } }, /\$\.a\.b\[1\] is Infinity/],
        ['-Infinity', -Infinity, /is -Infinity/],
        ['undefined', undefined, /\$ is undefined/],
        ['an undefined property', { x: undefined }, /\$\.x is undefined/],
        ['a function', { run: () => 1 }, /\$\.run is a function/],
        ['a bigint', [1n], /\$\[0\] is a bigint/],
        ['a symbol', Symbol('s'), /is a symbol/],
        ['a Date', { when: new Date(0) }, /\$\.when is a Date; only plain objects/],
        ['a Map', new Map(), /is a Map/],
        ['a cycle', cyclic, /\$\.self refers back to itself/],
        // eslint-disable-next-line no-sparse-arrays
        ['a sparse array', [1, , 3], /\$\[1\] is a hole/],
        ['an odd property name', { 'a b': NaN }, /\$\["a b"\] is NaN/],
      ];
      it.each(badValues)('rejects %s in a value, naming where it is', async (_label, value, message) => {
        const store = await fresh();
        await expectForgeError(
          store.putRecord('ns', 'k', value as JsonValue),
          'FORGE_STORAGE_INVALID',
          message,
        );
        await expectForgeError(
          store.append('audit', [1, value as JsonValue]),
          'FORGE_STORAGE_INVALID',
          /entry 1 of/,
        );
        // Nothing of a rejected batch is written.
        expect(await store.logHead('audit')).toBe(0);
        expect(await store.getRecord('ns', 'k')).toBeUndefined();
      });

      it('enforces the value size limit on the serialized form', async () => {
        const store = await fresh();
        const fits = 'x'.repeat(storageLimits.maxValueBytes - 2); // plus two quotes
        expect(await store.putRecord('ns', 'k', fits)).toBe(1);
        expect((await store.getRecord('ns', 'k'))?.value).toBe(fits);
        await expectForgeError(
          store.putRecord('ns', 'k', `${fits}x`),
          'FORGE_STORAGE_INVALID',
          /1048577 bytes as JSON; the limit is 1048576/,
        );
        await expectForgeError(
          store.append('audit', [`${fits}x`]),
          'FORGE_STORAGE_INVALID',
          /limit is 1048576/,
        );
      });

      it('rejects bad append batches', async () => {
        const store = await fresh();
        await expectForgeError(store.append('audit', []), 'FORGE_STORAGE_INVALID', /at least one entry/);
        await expectForgeError(
          store.append('audit', 'x' as unknown as JsonValue[]),
          'FORGE_STORAGE_INVALID',
          /an array/,
        );
        await expectForgeError(
          store.append('audit', new Array<JsonValue>(storageLimits.maxAppendBatch + 1).fill(null)),
          'FORGE_STORAGE_INVALID',
          /split the batch/,
        );
        expect(
          await store.append('audit', new Array<JsonValue>(storageLimits.maxAppendBatch).fill(null)),
        ).toEqual({
          firstSeq: 1,
          lastSeq: storageLimits.maxAppendBatch,
        });
      });

      it('rejects bad digests, blobs, page limits and versions', async () => {
        const store = await fresh();
        const upper = sha256(new Uint8Array([1])).toUpperCase();
        for (const digest of [upper, 'abc', 'g'.repeat(64), `${'a'.repeat(64)}\n`]) {
          await expectForgeError(store.getBlob(digest), 'FORGE_STORAGE_INVALID', /64 lower-case hex/);
          await expectForgeError(store.hasBlob(digest), 'FORGE_STORAGE_INVALID', /64 lower-case hex/);
          await expectForgeError(store.deleteBlob(digest), 'FORGE_STORAGE_INVALID', /64 lower-case hex/);
        }
        await expectForgeError(
          store.putBlob([1, 2] as unknown as Uint8Array),
          'FORGE_STORAGE_INVALID',
          /Uint8Array/,
        );
        for (const limit of [0, storageLimits.maxPage + 1, 1.5, Number.NaN]) {
          await expectForgeError(
            store.readLog('audit', { limit }),
            'FORGE_STORAGE_INVALID',
            /limit must be an integer from 1 to 10000/,
          );
          await expectForgeError(
            store.listRecords('ns', { limit }),
            'FORGE_STORAGE_INVALID',
            /limit must be an integer/,
          );
        }
        await expectForgeError(
          store.readLog('audit', { fromSeq: 0 }),
          'FORGE_STORAGE_INVALID',
          /fromSeq must be an integer >= 1/,
        );
        await expectForgeError(
          store.putRecord('ns', 'k', 1, { expectedVersion: -1 }),
          'FORGE_STORAGE_INVALID',
          /expectedVersion/,
        );
        await expectForgeError(
          store.listRecords('ns', { after: '' }),
          'FORGE_STORAGE_INVALID',
          /after must not be empty/,
        );
        await expectForgeError(store.listRecords('ns', { prefix: 'a\0' }), 'FORGE_STORAGE_INVALID', /NUL/);
        await expectForgeError(
          store.readLog('audit', 5 as never),
          'FORGE_STORAGE_INVALID',
          /options must be an object/,
        );
      });
    });

    describe('close', () => {
      it('is idempotent and makes every later call fail with FORGE_STORAGE_CLOSED', async () => {
        const store = await fresh();
        await store.append('audit', [1]);
        await store.close();
        await store.close();
        const digest = sha256(new Uint8Array([1]));
        const calls: [string, () => Promise<unknown>][] = [
          ['append', () => store.append('audit', [1])],
          ['readLog', () => store.readLog('audit')],
          ['logHead', () => store.logHead('audit')],
          ['getRecord', () => store.getRecord('ns', 'k')],
          ['putRecord', () => store.putRecord('ns', 'k', 1)],
          ['deleteRecord', () => store.deleteRecord('ns', 'k')],
          ['listRecords', () => store.listRecords('ns')],
          ['putBlob', () => store.putBlob(new Uint8Array([1]))],
          ['getBlob', () => store.getBlob(digest)],
          ['hasBlob', () => store.hasBlob(digest)],
          ['deleteBlob', () => store.deleteBlob(digest)],
          ['transaction', () => store.transaction(async () => 1)],
        ];
        for (const [operation, call] of calls) {
          await expectForgeError(
            call(),
            'FORGE_STORAGE_CLOSED',
            new RegExp(`\\.${operation}\\(\\) was called after close`),
          );
        }
      });

      it('waits for a running transaction, which still commits', async () => {
        const store = await fresh();
        const release = deferred();
        const entered = deferred();
        const events: string[] = [];
        const tx = store.transaction(async (t) => {
          entered.resolve();
          await release.promise;
          await t.append('audit', ['last words']);
          events.push('tx done');
          return t.logHead('audit');
        });
        await entered.promise;
        const closing = store.close().then(() => events.push('closed'));
        await expectForgeError(store.logHead('audit'), 'FORGE_STORAGE_CLOSED');
        await settle();
        expect(events).toEqual([]);
        release.resolve();
        expect(await tx).toBe(1);
        await closing;
        expect(events).toEqual(['tx done', 'closed']);
      });
    });

    describe('isolation from callers', () => {
      it('copies values on the way in and out', async () => {
        const store = await fresh();
        const value = { list: [1, 2], nested: { flag: true } };
        await store.putRecord('ns', 'k', value);
        await store.append('audit', [value]);
        value.list.push(3);
        value.nested.flag = false;

        const record = await store.getRecord('ns', 'k');
        const [entry] = await store.readLog('audit');
        expect(record?.value).toEqual({ list: [1, 2], nested: { flag: true } });
        expect(entry?.data).toEqual({ list: [1, 2], nested: { flag: true } });

        (record!.value as { list: number[] }).list.push(99);
        (entry!.data as { list: number[] }).list.push(99);
        const listed = await store.listRecords('ns');
        expect(listed[0]?.value).toEqual({ list: [1, 2], nested: { flag: true } });
        expect((await store.readLog('audit'))[0]?.data).toEqual({ list: [1, 2], nested: { flag: true } });
      });

      it('copies blob bytes on the way in and out', async () => {
        const store = await fresh();
        const bytes = new Uint8Array([1, 2, 3]);
        const digest = await store.putBlob(bytes);
        bytes[0] = 42;
        const read = await store.getBlob(digest);
        expect(read).toEqual(new Uint8Array([1, 2, 3]));
        read![1] = 42;
        expect(await store.getBlob(digest)).toEqual(new Uint8Array([1, 2, 3]));
      });

      it('stores -0 as 0, as JSON does', async () => {
        const store = await fresh();
        await store.putRecord('ns', 'k', -0);
        expect(Object.is((await store.getRecord('ns', 'k'))?.value, 0)).toBe(true);
      });
    });

    describe('properties', () => {
      it('round-trips any JSON value exactly, in records and logs', async () => {
        const store = await fresh();
        let n = 0;
        await fc.assert(
          fc.asyncProperty(fc.jsonValue({ stringUnit: 'binary' }), async (value) => {
            const key = `k${(n += 1)}`;
            // JSON has no negative zero: fast-check may generate -0, and the store (like JSON) keeps it as 0.
            const expected = JSON.parse(JSON.stringify(value)) as JsonValue;
            await store.putRecord('ns', key, value as JsonValue);
            expect((await store.getRecord('ns', key))?.value).toEqual(expected);
            const { firstSeq } = await store.append('audit', [value as JsonValue]);
            expect((await store.readLog('audit', { fromSeq: firstSeq, limit: 1 }))[0]?.data).toEqual(
              expected,
            );
          }),
          { numRuns: 200 },
        );
      });

      it('agrees with a simple model on random operation sequences, transactions included', async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(operationArbitrary, { maxLength: 30 }), async (steps) => {
            const store = await fresh();
            const model = new Model();
            try {
              for (const step of steps) {
                if (step.kind !== 'tx') {
                  expect(await observe(store, step)).toEqual(model.apply(step));
                  continue;
                }
                const draft = model.clone();
                const seen: unknown[] = [];
                const outcome = await store
                  .transaction(async (tx) => {
                    for (const inner of step.ops) seen.push(await observe(tx, inner));
                    if (step.fail) throw new Error('rollback on purpose');
                  })
                  .then(
                    () => 'committed',
                    (err: unknown) => String(err),
                  );
                expect(seen).toEqual(step.ops.map((inner) => draft.apply(inner)));
                expect(outcome).toBe(step.fail ? 'Error: rollback on purpose' : 'committed');
                if (!step.fail) model.adopt(draft);
              }
              for (const log of LOGS) expect(await allEntries(store, log)).toEqual(model.logs.get(log) ?? []);
              for (const ns of NAMESPACES) {
                const everything = { kind: 'list', ns, prefix: '', after: undefined, limit: 100 } as const;
                expect(await observe(store, everything)).toEqual(model.apply(everything));
              }
            } finally {
              await store.close();
            }
          }),
          { numRuns: 60 },
        );
      });
    });
  });
}

// --- Model-based testing ---------------------------------------------------------------------

const LOGS = ['a', 'b'] as const;
const NAMESPACES = ['n1', 'n2'] as const;
const KEYS = ['k', 'k/1', 'k/2', 'ka', 'é', '\u{1F600}', '\uFFFD'] as const;

type Operation =
  | { kind: 'append'; log: string; data: JsonValue[] }
  | { kind: 'readLog'; log: string; fromSeq: number; limit: number }
  | { kind: 'put'; ns: string; key: string; value: JsonValue; expectedVersion: number | undefined }
  | { kind: 'get'; ns: string; key: string }
  | { kind: 'delete'; ns: string; key: string }
  | { kind: 'list'; ns: string; prefix: string; after: string | undefined; limit: number };
type Step = Operation | { kind: 'tx'; ops: Operation[]; fail: boolean };

const small = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.string({ maxLength: 3 }),
  fc.constant(null),
) as fc.Arbitrary<JsonValue>;
const plainOperation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({
    kind: fc.constant('append' as const),
    log: fc.constantFrom(...LOGS),
    data: fc.array(small, { minLength: 1, maxLength: 3 }),
  }),
  fc.record({
    kind: fc.constant('readLog' as const),
    log: fc.constantFrom(...LOGS),
    fromSeq: fc.integer({ min: 1, max: 8 }),
    limit: fc.integer({ min: 1, max: 4 }),
  }),
  fc.record({
    kind: fc.constant('put' as const),
    ns: fc.constantFrom(...NAMESPACES),
    key: fc.constantFrom(...KEYS),
    value: small,
    expectedVersion: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
  }),
  fc.record({
    kind: fc.constant('get' as const),
    ns: fc.constantFrom(...NAMESPACES),
    key: fc.constantFrom(...KEYS),
  }),
  fc.record({
    kind: fc.constant('delete' as const),
    ns: fc.constantFrom(...NAMESPACES),
    key: fc.constantFrom(...KEYS),
  }),
  fc.record({
    kind: fc.constant('list' as const),
    ns: fc.constantFrom(...NAMESPACES),
    prefix: fc.constantFrom('', 'k', 'k/', '\u{1F600}', 'x'),
    after: fc.option(fc.constantFrom(...KEYS), { nil: undefined }),
    limit: fc.integer({ min: 1, max: 5 }),
  }),
);
const operationArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: plainOperation },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('tx' as const),
      ops: fc.array(plainOperation, { maxLength: 5 }),
      fail: fc.boolean(),
    }),
  },
);

/** What an operation returned, or the code it failed with. */
async function observe(store: StorageOps, op: Operation): Promise<unknown> {
  try {
    switch (op.kind) {
      case 'append':
        return await store.append(op.log, op.data);
      case 'readLog':
        return (await store.readLog(op.log, { fromSeq: op.fromSeq, limit: op.limit })).map((e) => [
          e.seq,
          e.data,
        ]);
      case 'put':
        return await store.putRecord(
          op.ns,
          op.key,
          op.value,
          op.expectedVersion === undefined ? {} : { expectedVersion: op.expectedVersion },
        );
      case 'get':
        return (await store.getRecord(op.ns, op.key)) ?? null;
      case 'delete':
        return await store.deleteRecord(op.ns, op.key);
      case 'list':
        return await store.listRecords(op.ns, {
          prefix: op.prefix,
          limit: op.limit,
          ...(op.after === undefined ? {} : { after: op.after }),
        });
    }
  } catch (err) {
    return { failed: (err as { code?: unknown }).code };
  }
}

class Model {
  logs = new Map<string, JsonValue[]>();
  records = new Map<string, Map<string, { version: number; value: JsonValue }>>();

  clone(): Model {
    const copy = new Model();
    copy.adopt(structuredClone(this));
    return copy;
  }

  adopt(other: Pick<Model, 'logs' | 'records'>): void {
    this.logs = other.logs;
    this.records = other.records;
  }

  apply(op: Operation): unknown {
    switch (op.kind) {
      case 'append': {
        const log = this.logs.get(op.log) ?? [];
        this.logs.set(op.log, log);
        const firstSeq = log.length + 1;
        log.push(...op.data);
        return { firstSeq, lastSeq: log.length };
      }
      case 'readLog':
        return (this.logs.get(op.log) ?? [])
          .map((data, i) => [i + 1, data])
          .slice(op.fromSeq - 1, op.fromSeq - 1 + op.limit);
      case 'put': {
        const ns = this.records.get(op.ns) ?? new Map<string, { version: number; value: JsonValue }>();
        this.records.set(op.ns, ns);
        const current = ns.get(op.key)?.version ?? 0;
        if (op.expectedVersion !== undefined && op.expectedVersion !== current) {
          return { failed: 'FORGE_STORAGE_CONFLICT' };
        }
        ns.set(op.key, { version: current + 1, value: op.value });
        return current + 1;
      }
      case 'get': {
        const found = this.records.get(op.ns)?.get(op.key);
        return found ? { key: op.key, ...found } : null;
      }
      case 'delete':
        return this.records.get(op.ns)?.delete(op.key) ?? false;
      case 'list':
        return [...(this.records.get(op.ns) ?? new Map<string, { version: number; value: JsonValue }>())]
          .filter(
            ([key]) =>
              key.startsWith(op.prefix) && (op.after === undefined || compareUtf8(key, op.after) > 0),
          )
          .sort(([a], [b]) => compareUtf8(a, b))
          .slice(0, op.limit)
          .map(([key, { version, value }]) => ({ key, version, value }));
    }
  }
}
