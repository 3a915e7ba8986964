import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forgeone, hasStackTrace, repoRoot } from '../support/cli';

const trustDir = join(repoRoot, 'packages/trust');

/** Runs an ES module inside packages/trust, where it imports the built @forgeone packages by name. */
function runInTrust(source: string, args: string[]): string {
  const file = join(trustDir, `.e2e-audit-${process.pid}.mjs`);
  writeFileSync(file, source);
  try {
    const run = spawnSync(process.execPath, [file, ...args], {
      cwd: trustDir,
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (run.status !== 0) throw new Error(`helper failed: ${run.stderr}`);
    return run.stdout;
  } finally {
    rmSync(file, { force: true });
  }
}

/** Enforces the example policy for a few calls and records every decision in a SQLite audit log. */
const record = `
import { SqliteStore, systemClock } from '@forgeone/common';
import { AuditLog, createSyscallEnforcer, enforcerSpecFromPolicyFile } from '@forgeone/trust';
const [db, policy] = process.argv.slice(2);
const store = await SqliteStore.open(db);
const log = new AuditLog(store);
const enforcer = createSyscallEnforcer(await enforcerSpecFromPolicyFile(policy, 'enforce'), {
  clock: systemClock,
  audit: (entry) => log.enqueue(entry),
});
const identity = { subject: 'pkg:acme/report-plugin@1.0.0', tenant: 'default', roles: [], attributes: {}, assurance: 'none' };
const calls = [
  ['wasi.path_open', { fd: 3, path: '/data/q1.csv', read: true, write: false }],
  ['wasi.path_open', { fd: 3, path: '/etc/passwd', read: true, write: false }],
  ['wasi.sock_accept', { fd: 3 }],
  ['forge.log', {}],
];
for (let i = 0; i < 10; i += 1) {
  for (const [syscall, args] of calls) enforcer.enforce({ containerId: 'ctr_e2e', identity, syscall, args, time: i });
}
const { lastSeq } = await log.flush();
await store.close();
process.stdout.write(String(lastSeq));
`;

const tamper = `
import Database from 'better-sqlite3';
const [db, seq] = process.argv.slice(2);
const conn = new Database(db);
const changed = conn.prepare("UPDATE logs SET data = replace(data, '\\"executed\\":false', '\\"executed\\":true') WHERE log = 'audit' AND seq = ?").run(Number(seq)).changes;
conn.close();
process.stdout.write(String(changed));
`;

describe('forgeone audit verify (built CLI)', () => {
  it('verifies the chain of recorded decisions, then names the entry changed in the SQLite file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'forge-e2e-audit-'));
    const db = join(dir, 'audit.db');
    const last = Number(runInTrust(record, [db, join(repoRoot, 'examples/policies/report-plugin.yaml')]));
    expect(last).toBe(40);

    const intact = forgeone(['audit', 'verify', '--store', db]);
    expect(intact.code).toBe(0);
    expect(intact.stdout).toMatch(/^OK: audit chain intact: 40 entries/);

    // Entry 2 is the refused open of /etc/passwd: rewrite it to say the call ran.
    expect(runInTrust(tamper, [db, '2'])).toBe('1');
    const broken = forgeone(['audit', 'verify', '--store', db, '--json']);
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.stdout)).toMatchObject({
      ok: false,
      code: 'FORGE_AUDIT_CHAIN_BROKEN',
      brokenSeq: 2,
    });
    const text = forgeone(['audit', 'verify', '--store', db]);
    expect(text.stderr).toMatch(/^FORGE_AUDIT_CHAIN_BROKEN: the audit chain is broken at entry 2: /);
    expect(hasStackTrace(text.stderr)).toBe(false);
  });
});
