import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ManualClock,
  MemoryStore,
  emptyExecutionDna,
  isForgeError,
  type ExecutionDNA,
} from '@forgeone/common';
import { Redzone, redzoneTransitions, type RedzoneAction, type RedzoneState } from '../index';

const MAX_MS = 60_000;

function dna(counts: Record<string, number>, denied = 0): ExecutionDNA {
  return {
    ...emptyExecutionDna('ctr_a'),
    syscallCounts: counts,
    totalCalls: Object.values(counts).reduce((a, b) => a + b, 0),
    deniedCalls: denied,
  };
}

describe('Redzone', () => {
  it('records the reason, the DNA and the fired rules; analysis shows what deviated and why', async () => {
    const clock = new ManualClock(1_000);
    const redzone = new Redzone(new MemoryStore(), { clock, maxQuarantineMs: MAX_MS });
    const record = await redzone.quarantine({
      containerId: 'ctr_a',
      reason: 'the plugin is scanning the file system',
      dna: dna({ 'wasi.path_open': 80, 'wasi.fd_readdir': 15, 'forge.log': 5 }, 60),
      baseline: dna({ 'wasi.path_open': 10, 'wasi.fd_read': 40, 'forge.log': 50 }, 1),
      firedRules: ['base/outside-data', 'base/scanning'],
    });
    expect(record).toMatchObject({ state: 'active', quarantinedAt: 1_000, deadline: 61_000, count: 1 });
    expect(await redzone.isSuspended('ctr_a')).toBe(true);

    const analysis = await redzone.analyze('ctr_a', 'alice');
    expect(analysis.deviation).toBeCloseTo(0.85, 5); // ½(|.8-.1| + |.15-0| + |.05-.5| + |0-.4|)
    expect(analysis.deviations[0]).toMatchObject({ syscall: 'wasi.path_open', observed: 0.8, baseline: 0.1 });
    expect(analysis.newSyscalls).toEqual(['wasi.fd_readdir']);
    expect(analysis.firedRules).toEqual(['base/outside-data', 'base/scanning']);
    expect(analysis.anomalyContributions[0]).toMatchObject({ source: 'refused calls' });
    expect(analysis.summary.join('\n')).toContain('wasi.path_open: 80.0% of calls, baseline 10.0%');
    expect((await redzone.get('ctr_a'))?.state).toBe('analyzing');
  });

  it('remediates by revoking a capability or restoring a snapshot, then releases', async () => {
    const revoked: string[] = [];
    const restored: string[] = [];
    const released: string[] = [];
    const redzone = new Redzone(new MemoryStore(), {
      clock: new ManualClock(),
      onRevoke: (id, cap) => void revoked.push(`${id}:${cap}`),
      snapshots: { restore: async (id, snap) => void restored.push(`${id}:${snap}`) },
      onRelease: (r) => void released.push(r.containerId),
    });
    await redzone.quarantine({ containerId: 'ctr_a', reason: 'r', dna: dna({}) });
    const waiting = redzone.whenResolved('ctr_a');
    await redzone.remediate('ctr_a', { kind: 'revoke-capability', capability: 'fs:read:/data' }, 'ops');
    const record = await redzone.remediate('ctr_a', { kind: 'restore-snapshot', snapshotId: 'snap-1' });
    expect(record.revokedCapabilities).toEqual(['fs:read:/data']);
    expect(record.remediations.map((r) => r.kind)).toEqual(['revoke-capability', 'restore-snapshot']);
    await redzone.release('ctr_a', 'ops', 'fixed');
    await expect(waiting).resolves.toBe('released');
    expect([revoked, restored, released]).toEqual([['ctr_a:fs:read:/data'], ['ctr_a:snap-1'], ['ctr_a']]);
    expect(await redzone.isSuspended('ctr_a')).toBe(false);
  });

  it('restoring a snapshot needs a snapshot port', async () => {
    const redzone = new Redzone(new MemoryStore());
    await redzone.quarantine({ containerId: 'ctr_a', reason: 'r', dna: dna({}) });
    await expect(
      redzone.remediate('ctr_a', { kind: 'restore-snapshot', snapshotId: 's' }),
    ).rejects.toMatchObject({
      code: 'FORGE_REDZONE_NO_SNAPSHOT',
    });
  });

  it('terminates a container held past the maximum quarantine time, and records survive a restart', async () => {
    const clock = new ManualClock(0);
    const store = new MemoryStore();
    const terminated: string[] = [];
    const first = new Redzone(store, {
      clock,
      maxQuarantineMs: MAX_MS,
      onTerminate: (r) => void terminated.push(r.containerId),
    });
    await first.quarantine({ containerId: 'ctr_a', reason: 'r', dna: dna({}) });
    await first.analyze('ctr_a');
    clock.advance(MAX_MS);
    expect((await first.expire()).map((r) => r.containerId)).toEqual(['ctr_a']);
    expect(terminated).toEqual(['ctr_a']);
    const second = new Redzone(store, { clock });
    const record = await second.get('ctr_a');
    expect(record?.state).toBe('terminated');
    expect(record?.history.map((h) => h.action)).toEqual(['quarantine', 'analyze', 'expire']);
    await expect(second.release('ctr_a')).rejects.toThrow(/terminated after its maximum quarantine time/);
  });

  it('expiry reads only the held records, however many stays are over', async () => {
    const clock = new ManualClock(0);
    const store = new MemoryStore();
    const redzone = new Redzone(store, { clock, maxQuarantineMs: MAX_MS });
    for (let i = 0; i < 50; i += 1) {
      await redzone.quarantine({ containerId: `ctr_old${i}`, reason: 'r', dna: dna({}) });
      await redzone.release(`ctr_old${i}`);
    }
    await redzone.quarantine({ containerId: 'ctr_held', reason: 'r', dna: dna({}) });
    expect((await redzone.expire()).length).toBe(0);
    const read: string[] = [];
    const getRecord = store.getRecord.bind(store);
    const listRecords = store.listRecords.bind(store);
    store.getRecord = async (namespace, key) => {
      read.push(`${namespace}/${key}`);
      return getRecord(namespace, key);
    };
    store.listRecords = async (namespace, options) => {
      const page = await listRecords(namespace, options);
      read.push(...page.map((r) => `${namespace}/${r.key}`));
      return page;
    };
    clock.advance(MAX_MS);
    expect((await redzone.expire()).map((r) => r.containerId)).toEqual(['ctr_held']);
    expect(read.filter((key) => key.includes('ctr_old'))).toEqual([]);
    expect(read).toContain('redzone.held/ctr_held');
    // Nothing held any more: the index is empty and a released record stays released.
    expect(await store.listRecords('redzone.held')).toEqual([]);
    expect((await redzone.get('ctr_old0'))?.state).toBe('released');
  });

  it('indexes held records written before the index existed, so they still expire', async () => {
    const clock = new ManualClock(0);
    const store = new MemoryStore();
    const older = new Redzone(store, { clock, maxQuarantineMs: MAX_MS });
    await older.quarantine({ containerId: 'ctr_a', reason: 'r', dna: dna({}) });
    // A state directory from before the index: the record alone.
    await store.deleteRecord('redzone.held', 'ctr_a');
    const terminated: string[] = [];
    const redzone = new Redzone(store, {
      clock,
      maxQuarantineMs: MAX_MS,
      onTerminate: (r) => void terminated.push(r.containerId),
    });
    clock.advance(MAX_MS);
    expect((await redzone.expire()).map((r) => r.containerId)).toEqual(['ctr_a']);
    expect(terminated).toEqual(['ctr_a']);
  });
});

// ---- model-based: random sequences of operator actions and time against a model of the table ----

type Model = { records: Map<string, { state: RedzoneState; deadline: number }>; now: number };
interface Real {
  redzone: Redzone;
  clock: ManualClock;
}
const ids = ['ctr_a', 'ctr_b'] as const;

/** The model's view: a held record past its deadline is terminated before anything else happens. */
function settle(model: Model, id: string): RedzoneState | undefined {
  const record = model.records.get(id);
  if (!record) return undefined;
  if (['active', 'analyzing', 'remediating'].includes(record.state) && model.now >= record.deadline)
    record.state = 'terminated';
  return record.state;
}

async function expectRefusal(promise: Promise<unknown>, code: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    if (isForgeError(error) && error.code === code) return;
    throw error;
  }
  throw new Error(`expected ${code}`);
}

class QuarantineCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly id: string) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const state = settle(model, this.id);
    const held = state === 'active' || state === 'analyzing' || state === 'remediating';
    const attempt = real.redzone.quarantine({
      containerId: this.id,
      reason: 'test',
      dna: dna({ 'forge.log': 1 }),
    });
    if (held) return expectRefusal(attempt, 'FORGE_REDZONE_TRANSITION');
    await attempt;
    model.records.set(this.id, { state: 'active', deadline: model.now + MAX_MS });
    expect(await real.redzone.isSuspended(this.id)).toBe(true);
  }
  toString = () => `quarantine(${this.id})`;
}

class ActionCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly id: string,
    readonly action: Exclude<RedzoneAction, 'expire'>,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const state = settle(model, this.id);
    const { redzone } = real;
    const attempt =
      this.action === 'analyze'
        ? redzone.analyze(this.id)
        : this.action === 'remediate'
          ? redzone.remediate(this.id, { kind: 'revoke-capability', capability: 'kv:write:x' })
          : this.action === 'release'
            ? redzone.release(this.id)
            : redzone.terminate(this.id, 'operator');
    if (state === undefined) return expectRefusal(attempt, 'FORGE_REDZONE_NOT_FOUND');
    const next = redzoneTransitions[state][this.action];
    if (next === undefined) return expectRefusal(attempt, 'FORGE_REDZONE_TRANSITION');
    await attempt;
    model.records.get(this.id)!.state = next;
    expect((await redzone.get(this.id))?.state).toBe(next);
  }
  toString = () => `${this.action}(${this.id})`;
}

class AdvanceCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    model.now += this.ms;
    real.clock.advance(this.ms);
    await real.redzone.expire();
    for (const id of ids) {
      const expected = settle(model, id);
      expect((await real.redzone.get(id))?.state).toBe(expected);
    }
  }
  toString = () => `advance(${this.ms})`;
}

describe('Redzone state machine (model-based)', () => {
  it('follows the transition table under any sequence of actions and time', async () => {
    const id = fc.constantFrom(...ids);
    const commands = [
      id.map((i) => new QuarantineCommand(i)),
      fc
        .tuple(id, fc.constantFrom('analyze', 'remediate', 'release', 'terminate' as const))
        .map(([i, a]) => new ActionCommand(i, a)),
      fc.integer({ min: 1, max: MAX_MS }).map((ms) => new AdvanceCommand(ms)),
    ];
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 40 }), async (cmds) => {
        const clock = new ManualClock(0);
        const setup = () => ({
          model: { records: new Map(), now: 0 } as Model,
          real: { redzone: new Redzone(new MemoryStore(), { clock, maxQuarantineMs: MAX_MS }), clock },
        });
        await fc.asyncModelRun(setup, cmds);
      }),
      { numRuns: 150 },
    );
  });
});
