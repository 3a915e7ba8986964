import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, type StoragePort } from '../index';
import { expectForgeError, type OpenStore } from './storageContract';

/** What every StoragePort's trimLog must do: drop the oldest entries, keep the head, roll back with a transaction. */
export function describeLogTrimContract(name: string, open: OpenStore): void {
  describe(`${name}: trimLog`, () => {
    const opened: StoragePort[] = [];
    async function fresh(): Promise<StoragePort> {
      const store = await open(new ManualClock(Date.UTC(2030, 0, 1)));
      opened.push(store);
      return store;
    }
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    });

    it('drops the entries below beforeSeq, keeps the rest and the head, and numbering goes on', async () => {
      const store = await fresh();
      await store.append('t', ['a', 'b', 'c', 'd']);
      await store.append('other', ['x']);
      expect(await store.trimLog('t', 3)).toBe(2);
      expect((await store.readLog('t')).map((e) => [e.seq, e.data])).toEqual([
        [3, 'c'],
        [4, 'd'],
      ]);
      expect((await store.readLog('t', { fromSeq: 4 })).map((e) => e.seq)).toEqual([4]);
      expect(await store.logHead('t')).toBe(4);
      // Trimming again below what is gone removes nothing; the other log is untouched.
      expect(await store.trimLog('t', 2)).toBe(0);
      expect(await store.readLog('other')).toHaveLength(1);
      expect(await store.append('t', ['e'])).toEqual({ firstSeq: 5, lastSeq: 5 });
    });

    it('keeps the head when every entry goes, so no sequence number is reused', async () => {
      const store = await fresh();
      await store.append('t', ['a', 'b']);
      expect(await store.trimLog('t', 1_000)).toBe(2);
      expect(await store.readLog('t')).toEqual([]);
      expect(await store.logHead('t')).toBe(2);
      expect(await store.append('t', ['c'])).toEqual({ firstSeq: 3, lastSeq: 3 });
      expect(await store.trimLog('never-written', 5)).toBe(0);
      expect(await store.logHead('never-written')).toBe(0);
    });

    it('is undone with the transaction it ran in', async () => {
      const store = await fresh();
      await store.append('t', ['a', 'b', 'c']);
      await expect(
        store.transaction(async (tx) => {
          expect(await tx.trimLog('t', 3)).toBe(2);
          expect(await tx.logHead('t')).toBe(3);
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect((await store.readLog('t')).map((e) => e.seq)).toEqual([1, 2, 3]);
    });

    it('refuses a bad log name or beforeSeq', async () => {
      const store = await fresh();
      await expectForgeError(store.trimLog('', 1), 'FORGE_STORAGE_INVALID');
      await expectForgeError(store.trimLog('t', 0), 'FORGE_STORAGE_INVALID', /beforeSeq/);
      await expectForgeError(store.trimLog('t', 1.5), 'FORGE_STORAGE_INVALID', /beforeSeq/);
    });

    it('for any appends and trims, what is kept is every entry from the highest trim on, in order (property)', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.oneof(
              fc.record({ append: fc.integer({ min: 1, max: 5 }) }),
              fc.record({ trim: fc.integer({ min: 1, max: 40 }) }),
            ),
            {
              maxLength: 20,
            },
          ),
          async (ops) => {
            const store = await fresh();
            let head = 0;
            let floor = 1;
            for (const op of ops) {
              if ('append' in op) {
                const data = Array.from({ length: op.append }, (_, i) => head + 1 + i);
                expect(await store.append('t', data)).toEqual({
                  firstSeq: head + 1,
                  lastSeq: head + op.append,
                });
                head += op.append;
              } else {
                const before = Math.min(op.trim, head + 1);
                expect(await store.trimLog('t', op.trim)).toBe(Math.max(0, before - floor));
                floor = Math.max(floor, before);
              }
            }
            const kept = await store.readLog('t', { limit: 10_000 });
            expect(kept.map((e) => e.data)).toEqual(
              Array.from({ length: head - floor + 1 }, (_, i) => floor + i),
            );
            expect(await store.logHead('t')).toBe(head);
            await store.close();
          },
        ),
        { numRuns: 40 },
      );
    });
  });
}
