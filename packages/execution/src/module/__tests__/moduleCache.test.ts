import { describe, expect, it } from 'vitest';
import { ModuleCache } from '../../index';

// Moved from @forgeone/core, which no longer re-exports ModuleCache.
describe('ModuleCache', () => {
  it('compiles a source once and evicts the least recently used', async () => {
    const cache = new ModuleCache(2);
    const src = (n: number) => new TextEncoder().encode(`(module (func (export "f${n}")))`);
    const a = await cache.get(src(1), { name: 'a' });
    expect(await cache.get(src(1), { name: 'a' })).toBe(a);
    await cache.get(src(2), { name: 'b' });
    await cache.get(src(1), { name: 'a' }); // 1 is now most recent
    await cache.get(src(3), { name: 'c' }); // evicts 2
    expect(cache.size).toBe(2);
    expect(await cache.get(src(1), { name: 'a' })).toBe(a);
  });

  it('does not cache failures', async () => {
    const cache = new ModuleCache();
    await expect(cache.get(new TextEncoder().encode('(module'), { name: 'bad' })).rejects.toMatchObject({
      code: 'FORGE_WAT_INVALID',
    });
    expect(cache.size).toBe(0);
  });
});
