import { describe, expect, it } from 'vitest';
import { MemoryStore, ManualClock } from '../index';
import { describeLogTrimContract } from './logTrimContract';
import { describeStorageContract } from './storageContract';

describeStorageContract('MemoryStore', async (clock) => new MemoryStore({ clock }));
describeLogTrimContract('MemoryStore', async (clock) => new MemoryStore({ clock }));

describe('MemoryStore', () => {
  it('reports its kind and forgets everything on close', async () => {
    const store = new MemoryStore({ clock: new ManualClock(5) });
    expect(store.kind).toBe('memory');
    await store.append('audit', ['x']);
    expect(await store.readLog('audit')).toEqual([{ seq: 1, time: 5, data: 'x' }]);
    await store.close();
    // A new store is empty: nothing is shared between instances.
    expect(await new MemoryStore().logHead('audit')).toBe(0);
  });
});
