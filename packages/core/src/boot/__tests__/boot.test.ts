import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock, MemoryStore, isForgeError } from '@forgeone/common';
import { AuditLog, isKernelAuditEntry } from '@forgeone/trust';
import { boot, bootModes, type BootOptions } from '../../index';
import { EXPIRES, NOW, keyA, keyB, makeRoot, revoke, selfTestSpy } from './rootFixtures';

const dir = mkdtempSync(join(tmpdir(), 'forge-boot-'));
let files = 0;
function file(content: string): string {
  const path = join(dir, `f${files++}.json`);
  writeFileSync(path, content);
  return path;
}

/** A boot with a fresh store, audit log and self-test spy; returns all of them. */
function setup(options: BootOptions = {}) {
  const store = new MemoryStore();
  const audit = new AuditLog(store);
  const selfTest = selfTestSpy(true);
  return {
    store,
    audit,
    selfTest,
    run: (extra: BootOptions = {}) =>
      boot({ clock: new ManualClock(NOW), store, audit, selfTest: selfTest.run, ...options, ...extra }),
  };
}

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isForgeError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('the boot was not refused');
}

/** A refused boot ran nothing after the trust anchor: no self-test, no audit entry. */
async function expectNothingStarted(s: ReturnType<typeof setup>) {
  expect(s.selfTest.calls).toHaveLength(0);
  expect(await s.audit.read()).toEqual([]);
}

describe('boot with a good root', () => {
  for (const mode of bootModes) {
    it(`boots in ${mode} mode, runs the self-test, audits the boot and returns a frozen context`, async () => {
      const root = makeRoot();
      const s = setup({ mode, root });
      const context = await s.run();
      expect(context).toMatchObject({
        bootedAt: new Date(NOW).toISOString(),
        mode,
        root: {
          version: 1,
          expires: new Date(EXPIRES).toISOString(),
          source: 'document',
          rootKeyIds: [keyA.keyId, keyB.keyId],
        },
        revocation: { status: 'valid', source: 'none', version: 0, revokedKeyIds: [] },
        selfTest: { ok: true, checks: [{ name: 'webassembly', ok: true }] },
        auditSeq: 1,
      });
      expect([...(context.root?.keyIds ?? [])].sort()).toEqual([keyA.keyId, keyB.keyId].sort());
      expect(Object.isFrozen(context)).toBe(true);
      expect(Object.isFrozen(context.root)).toBe(true);
      expect(JSON.parse(JSON.stringify(context))).toEqual(context);
      // The self-test ran against the kernel's store, after the root was verified.
      expect(s.selfTest.calls).toHaveLength(1);
      expect(s.selfTest.calls[0]?.store).toBe(s.store);
      const [record] = await s.audit.read();
      expect(record?.seq).toBe(1);
      expect(record && isKernelAuditEntry(record.entry) && record.entry).toMatchObject({
        time: NOW,
        kernel: 'boot',
        facts: {
          outcome: 'booted',
          mode,
          root: { version: 1, expires: new Date(EXPIRES).toISOString() },
          revocation: { status: 'valid' },
          selfTest: { ok: true, failed: [] },
        },
      });
      expect((await s.audit.verify()).ok).toBe(true);
    });
  }

  it('reads the root from a file and names the file as its source', async () => {
    const path = file(JSON.stringify(makeRoot(), null, 2));
    const context = await setup({ rootPath: path }).run();
    expect(context.root).toMatchObject({ version: 1, source: path });
  });

  it('boots without an audit log (auditSeq null) and with the real self-test', async () => {
    const context = await boot({ clock: new ManualClock(NOW), root: makeRoot() });
    expect(context.auditSeq).toBeNull();
    expect(context.selfTest.ok).toBe(true);
    expect(context.selfTest.checks.map((c) => c.name)).toEqual(['webassembly', 'randomness', 'clock']);
  });

  it('boots a development kernel without a root, and says revocation is unknown; requireRoot refuses', async () => {
    const s = setup();
    const context = await s.run();
    expect(context.root).toBeNull();
    expect(context.revocation).toMatchObject({ status: 'unknown', source: 'none' });
    const strict = setup({ requireRoot: true });
    expect((await refusal(strict.run())).code).toBe('FORGE_BOOT_NO_ROOT');
    await expectNothingStarted(strict);
  });

  it('verifies a rotation chain and refuses a root older than one the store trusted', async () => {
    const v1 = makeRoot();
    const v2 = makeRoot({ version: 2 });
    const s = setup();
    expect((await s.run({ root: [v1, v2] })).root?.version).toBe(2);
    const rolledBack = await refusal(s.run({ root: v1 }));
    expect(rolledBack.code).toBe('FORGE_ROOT_ROLLBACK');
    expect(rolledBack.message).toMatch(/^boot refused: /);
  });
});

describe('boot refuses a root that fails, and starts nothing', () => {
  it('an expired root: FORGE_ROOT_EXPIRED', async () => {
    const s = setup({ root: makeRoot({ expires: '2026-05-31T00:00:00Z' }) });
    const { code, message } = await refusal(s.run());
    expect(code).toBe('FORGE_ROOT_EXPIRED');
    expect(message).toMatch(/^boot refused: trust root v1 expired at 2026-05-31/);
    await expectNothingStarted(s);
  });

  it('a tampered signature: FORGE_ROOT_BAD_SIGNATURE', async () => {
    const root = makeRoot();
    const sig = root.signatures[0]!.sig;
    const tampered = {
      ...root,
      signatures: [{ ...root.signatures[0]!, sig: `${sig[0] === '0' ? '1' : '0'}${sig.slice(1)}` }],
    };
    const s = setup({ root: tampered });
    expect((await refusal(s.run())).code).toBe('FORGE_ROOT_BAD_SIGNATURE');
    await expectNothingStarted(s);
  });

  it('a tampered signed part: FORGE_ROOT_BAD_SIGNATURE', async () => {
    const root = makeRoot();
    const s = setup({ root: { ...root, signed: { ...root.signed, expires: '2099-01-01T00:00:00Z' } } });
    expect((await refusal(s.run())).code).toBe('FORGE_ROOT_BAD_SIGNATURE');
    await expectNothingStarted(s);
  });

  it('a root signed below its threshold: FORGE_ROOT_THRESHOLD', async () => {
    const s = setup({ root: makeRoot({ need: 2, signers: [keyA] }) });
    const { code, message } = await refusal(s.run());
    expect(code).toBe('FORGE_ROOT_THRESHOLD');
    expect(message).toContain('ed25519 1/2');
    await expectNothingStarted(s);
  });

  it('a root that stands only on revoked keys: FORGE_BOOT_ROOT_REVOKED, with the reason', async () => {
    const s = setup({ root: revoke(makeRoot({ signers: [keyA] }), [keyA], [keyB], 'laptop stolen') });
    const { code, message } = await refusal(s.run());
    expect(code).toBe('FORGE_BOOT_ROOT_REVOKED');
    expect(message).toContain(`root key ${keyA.keyId.slice(0, 16)}… revoked (laptop stolen)`);
    expect(message).toContain('ed25519 0/1');
    await expectNothingStarted(s);
  });

  it('a missing root file: FORGE_ROOT_IO; a garbage one: FORGE_ROOT_INVALID', async () => {
    const missing = setup({ rootPath: join(dir, 'nope.json') });
    expect((await refusal(missing.run())).code).toBe('FORGE_ROOT_IO');
    await expectNothingStarted(missing);
    const garbage = setup({ rootPath: file('{"signed": [1, 2') });
    expect((await refusal(garbage.run())).code).toBe('FORGE_ROOT_INVALID');
    await expectNothingStarted(garbage);
    const notARoot = setup({ rootPath: file('{"hello": "world"}') });
    expect((await refusal(notARoot.run())).code).toBe('FORGE_ROOT_INVALID');
  });

  it('bad parameters: FORGE_BOOT_PARAMS', async () => {
    const s = setup();
    expect((await refusal(s.run({ mode: 'turbo' as never }))).code).toBe('FORGE_BOOT_PARAMS');
    expect((await refusal(s.run({ root: makeRoot(), rootPath: '/x' }))).code).toBe('FORGE_BOOT_PARAMS');
    expect((await refusal(s.run({ unknown: 1 } as never))).code).toBe('FORGE_BOOT_PARAMS');
    await expectNothingStarted(s);
  });
});

describe('revocation status', () => {
  it('valid when a revoked key is not needed: the root still meets its threshold', async () => {
    const root = revoke(makeRoot({ signers: [keyA, keyB] }), [keyA], [keyB]);
    const context = await setup({ root }).run();
    expect(context.revocation).toEqual({
      status: 'valid',
      source: 'embedded',
      version: 1,
      revokedKeyIds: [keyA.keyId],
    });
  });

  it('a list given apart from the root (document or file) replaces the embedded one', async () => {
    const list = revoke(makeRoot(), [keyA], [keyB]).revocations!;
    const s = setup({ root: makeRoot({ signers: [keyA] }) });
    expect((await refusal(s.run({ revocations: list }))).code).toBe('FORGE_BOOT_ROOT_REVOKED');
    expect((await refusal(s.run({ revocationsPath: file(JSON.stringify(list)) }))).code).toBe(
      'FORGE_BOOT_ROOT_REVOKED',
    );
  });

  it('unknown when the list cannot be read: boots and says why; requireRevocation refuses', async () => {
    const path = join(dir, 'missing-revocations.json');
    const s = setup({ root: makeRoot(), revocationsPath: path });
    const context = await s.run();
    expect(context.revocation).toMatchObject({ status: 'unknown', source: 'file' });
    expect(context.revocation.status === 'unknown' && context.revocation.reason).toContain(
      `the revocation list ${path} cannot be read`,
    );
    const [record] = await s.audit.read();
    expect(record && isKernelAuditEntry(record.entry) && record.entry.facts['revocation']).toMatchObject({
      status: 'unknown',
    });
    const strict = setup({ root: makeRoot(), revocationsPath: path, requireRevocation: true });
    expect((await refusal(strict.run())).code).toBe('FORGE_BOOT_REVOCATION_UNKNOWN');
    await expectNothingStarted(strict);
  });

  it('unknown when the list does not verify (a forged list does not revoke, nor vouch)', async () => {
    const root = revoke(makeRoot({ signers: [keyA] }), [keyA], [keyB]);
    const forged = {
      ...root,
      revocations: {
        ...root.revocations!,
        signed: { ...root.revocations!.signed, revoked: [{ keyid: keyB.keyId }] },
      },
    };
    const context = await setup({ root: forged }).run();
    expect(context.revocation).toMatchObject({ status: 'unknown', source: 'embedded' });
    expect(context.revocation.status === 'unknown' && context.revocation.reason).toMatch(
      /revocation list does not verify/,
    );
  });

  it('an unreadable list after a trusted one is unknown, not a rollback; an older list is a rollback', async () => {
    const s = setup();
    const signers = [keyA, keyB];
    const withList = revoke(makeRoot({ signers }), [keyA], [keyB]);
    await s.run({ root: withList });
    const context = await s.run({ root: makeRoot({ signers }), revocationsPath: join(dir, 'gone.json') });
    expect(context.revocation.status).toBe('unknown');
    // The list stripped from the root (it is not covered by the root's signatures): not "none issued".
    const stripped = await s.run({ root: makeRoot({ signers }) });
    expect(stripped.revocation).toMatchObject({ status: 'unknown', source: 'none' });
    expect(stripped.revocation.status === 'unknown' && stripped.revocation.reason).toContain(
      'list v1 was trusted before',
    );
    await s.run({ root: revoke(makeRoot({ signers }), [keyA], [keyB], 'again', 2) });
    expect((await refusal(s.run({ root: withList }))).code).toBe('FORGE_REVOCATION_ROLLBACK');
  });
});

describe('self-test', () => {
  it('a failed self-test refuses the boot (audited as refused) except in recovery mode', async () => {
    const store = new MemoryStore();
    const audit = new AuditLog(store);
    const failing = selfTestSpy(false);
    const base = { clock: new ManualClock(NOW), store, audit, selfTest: failing.run, root: makeRoot() };
    const { code, message } = await refusal(boot(base));
    expect(code).toBe('FORGE_BOOT_SELFTEST_FAILED');
    expect(message).toContain('webassembly: FORGE_INTERNAL: broken');
    const recovery = await boot({ ...base, mode: 'recovery' });
    expect(recovery).toMatchObject({ mode: 'recovery', selfTest: { ok: false }, auditSeq: 2 });
    const outcomes = (await audit.read()).map((r) => isKernelAuditEntry(r.entry) && r.entry.facts['outcome']);
    expect(outcomes).toEqual(['refused', 'booted']);
  });
});
