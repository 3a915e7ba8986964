import { afterEach, describe, expect, it } from 'vitest';
import { base64, serve, type Served } from './support/apiKernel';

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

/** A service whose `probe` logs "probe" and returns what the log call returned (0, or the errno). */
const PROBER = `(module
  (import "forge" "log" (func $log (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "probe")
  (func (export "probe") (result i32) (call $log (i32.const 64) (i32.const 5))))`;

const launch = (isolation: 'worker' | 'inline', policy: { allow: string[]; ask?: string[] }) => ({
  module: base64(PROBER),
  name: 'prober',
  isolation,
  policy: { mode: 'enforce' as const, ...policy },
});

async function until<T>(read: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const i32 = (result: { values: { value: unknown }[] }) => result.values[0]?.value;

describe('/v1/approvals', () => {
  it('a worker guest asked about a call blocks until the API approves it, then the call runs; a denied one gets the denial errno', async () => {
    served = await serve();
    const operator = served.client('operator');
    const viewer = served.client('viewer');
    // What a plain policy denial returns to the guest.
    const plain = await operator.call('launchContainer', { body: launch('worker', { allow: [] }) });
    const deniedErrno = i32(
      await operator.call('invokeContainer', { params: { id: plain.id }, body: { export: 'probe' } }),
    );
    expect(deniedErrno).not.toBe(0);

    const { id } = await operator.call('launchContainer', {
      body: launch('worker', { allow: [], ask: ['forge.log'] }),
    });
    const events: string[] = [];
    served.kernel.events.on('approval.requested', (e) => events.push(`requested ${e.syscall}`));
    served.kernel.events.on('approval.settled', (e) => events.push(`settled ${e.verdict} by ${e.by}`));

    // Approved.
    const first = operator.call('invokeContainer', { params: { id }, body: { export: 'probe' } });
    const pending = await until(async () => (await viewer.call('listApprovals', {})).approvals[0]);
    expect(pending).toMatchObject({ containerId: id, syscall: 'forge.log', subject: expect.any(String) });
    expect(pending.expiresAt).toBeGreaterThan(pending.since);
    // The call is still waiting.
    const raced = await Promise.race([
      first.then(() => 'done'),
      new Promise((r) => setTimeout(() => r('waiting'), 150)),
    ]);
    expect(raced).toBe('waiting');
    const outcome = await operator.call('approveApproval', {
      params: { id: pending.id },
      body: { reason: 'looks fine' },
    });
    expect(outcome).toMatchObject({ id: pending.id, verdict: 'allow', by: 'api:runner' });
    expect(outcome.reason).toMatch(/looks fine/);
    expect(i32(await first)).toBe(0);

    // Answered already: 409; unknown: 404; not an id: 400.
    await expect(operator.call('denyApproval', { params: { id: pending.id } })).rejects.toMatchObject({
      status: 409,
      code: 'FORGE_APPROVAL_SETTLED',
    });
    await expect(
      operator.call('approveApproval', { params: { id: '00000000-0000-4000-8000-000000000000' } }),
    ).rejects.toMatchObject({ status: 404, code: 'FORGE_APPROVAL_UNKNOWN' });
    const traversal = await fetch(`${served.address}/v1/approvals/..%2F..%2Fx/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${served.token.operator}` },
    });
    expect(traversal.status).toBe(400);

    // Denied: the guest gets the same errno as a policy denial.
    const second = operator.call('invokeContainer', { params: { id }, body: { export: 'probe' } });
    const next = await until(async () => (await viewer.call('listApprovals', {})).approvals[0]);
    expect(next.id).not.toBe(pending.id);
    await operator.call('denyApproval', { params: { id: next.id } });
    expect(i32(await second)).toBe(deniedErrno);
    expect((await viewer.call('listApprovals', {})).approvals).toEqual([]);
    expect(events).toEqual([
      'requested forge.log',
      'settled allow by api:runner',
      'requested forge.log',
      'settled deny by api:runner',
    ]);

    // Each answer is attributed to its token in the audit log.
    const audit = await viewer.call('readAudit', { query: { limit: 1000 } });
    const answers = audit.records
      .map((r) => r.entry as { kernel?: string; facts?: Record<string, unknown> })
      .filter((e) => e.kernel === 'api.request' && /Approval$/.test(String(e.facts?.['operation'])));
    expect(answers.map((e) => [e.facts!['operation'], e.facts!['token'], e.facts!['status']])).toEqual(
      expect.arrayContaining([
        ['approveApproval', 'runner', 200],
        ['denyApproval', 'runner', 409],
        ['denyApproval', 'runner', 200],
      ]),
    );
    // An answer's record names the call it let through or refused; a refused answer caused nothing.
    for (const e of answers) {
      if (e.facts!['status'] === 200)
        expect(e.facts!['caused']).toMatchObject({
          approvalId: expect.any(String),
          containerId: expect.stringMatching(/^ctr_/),
          verdict: e.facts!['operation'] === 'approveApproval' ? 'allow' : 'deny',
        });
      else expect(e.facts!['caused']).toBeUndefined();
    }
  });

  it('inline, an asked call cannot wait on the kernel thread: it is denied at once and nothing is left pending', async () => {
    served = await serve();
    const operator = served.client('operator');
    const { id } = await operator.call('launchContainer', {
      body: launch('inline', { allow: [], ask: ['forge.log'] }),
    });
    const result = await operator.call('invokeContainer', { params: { id }, body: { export: 'probe' } });
    expect(i32(result)).not.toBe(0);
    expect((await served.client('viewer').call('listApprovals', {})).approvals).toEqual([]);
    const trace = await served.client('viewer').call('getContainerTrace', { params: { id } });
    expect(JSON.stringify(trace)).toMatch(/no approver is available/);
  });

  it('a viewer may list but not answer (403); the queue denies on its timeout', async () => {
    served = await serve({ kernel: { approvalTimeoutMs: 300 } });
    const operator = served.client('operator');
    const viewer = served.client('viewer');
    const { id } = await operator.call('launchContainer', {
      body: launch('worker', { allow: [], ask: ['forge.log'] }),
    });
    const call = operator.call('invokeContainer', { params: { id }, body: { export: 'probe' } });
    const pending = await until(async () => (await viewer.call('listApprovals', {})).approvals[0]);
    await expect(viewer.call('approveApproval', { params: { id: pending.id } })).rejects.toMatchObject({
      status: 403,
    });
    expect(i32(await call)).not.toBe(0);
    expect((await viewer.call('listApprovals', {})).approvals).toEqual([]);
    await expect(operator.call('approveApproval', { params: { id: pending.id } })).rejects.toMatchObject({
      status: 409,
    });
  });
  it('a worker run (runModule) waits on the same queue: approved over the API, its call runs', async () => {
    served = await serve();
    const operator = served.client('operator');
    const HELLO = `(module
      (import "forge" "log" (func $log (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 64) "hello")
      (func (export "_start") (drop (call $log (i32.const 64) (i32.const 5)))))`;
    const run = served.kernel.runtime.runModule({
      source: new TextEncoder().encode(HELLO),
      name: 'hello.wat',
      isolation: 'worker',
      policy: { mode: 'enforce', policy: { kind: 'allow-list', allow: [], ask: ['forge.log'] } },
    });
    const pending = await until(async () => (await operator.call('listApprovals', {})).approvals[0]);
    expect(pending.syscall).toBe('forge.log');
    await operator.call('approveApproval', { params: { id: pending.id } });
    const report = await run;
    expect(report.logs).toEqual(['hello']);
  });
});
