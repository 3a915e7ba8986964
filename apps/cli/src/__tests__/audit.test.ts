import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '@forgeone/common';
import { AuditLog, type AuditEntryInput } from '@forgeone/trust';
import { cli } from './support/inProcess';

/** The bit of better-sqlite3 the tampering needs (the CLI depends on the driver, not on its types). */
type Database = { prepare(sql: string): { run(...params: unknown[]): unknown }; close(): void };
const Database = createRequire(import.meta.url)('better-sqlite3') as new (path: string) => Database;

const entry = (n: number): AuditEntryInput => ({
  time: n,
  containerId: 'ctr_cli',
  subject: 'pkg:acme/x@1.0.0',
  syscall: 'wasi.path_open',
  args: { path: `/data/${n}` },
  mode: 'enforce',
  action: n % 2 ? 'allow' : 'deny',
  executed: n % 2 === 1,
  reasons: [{ policy: 'main', message: `decision ${n}` }],
});

async function auditStore(count: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'forge-cli-audit-'));
  const store = await SqliteStore.open(join(dir, 'audit.db'));
  await new AuditLog(store).append(Array.from({ length: count }, (_, i) => entry(i + 1)));
  await store.close();
  return dir;
}

describe('forgeone audit verify', () => {
  it('proves an intact chain (exit 0) and names the first broken entry after tampering (exit 1)', async () => {
    const dir = await auditStore(30);
    const ok = await cli(['audit', 'verify', '--store', 'audit.db'], dir);
    expect(ok.code).toBe(0);
    expect(ok.out[0]).toMatch(/^OK: audit chain intact: 30 entries in log "audit"; head 30:[0-9a-f]{64}$/);

    const db = new Database(join(dir, 'audit.db'));
    db.prepare(
      `UPDATE logs SET data = replace(data, '/data/17', '/etc/shadow') WHERE log = 'audit' AND seq = 17`,
    ).run();
    db.close();
    const broken = await cli(['audit', 'verify', '--store', 'audit.db'], dir);
    expect(broken).toMatchObject({ code: 1, out: [] });
    expect(broken.err).toEqual([
      expect.stringMatching(
        /^FORGE_AUDIT_CHAIN_BROKEN: the audit chain is broken at entry 17: entry 17 was changed/,
      ),
    ]);
    const json = await cli(['audit', 'verify', '--store', 'audit.db', '--json'], dir);
    expect(JSON.parse(json.out[0]!)).toMatchObject({
      ok: false,
      code: 'FORGE_AUDIT_CHAIN_BROKEN',
      brokenSeq: 17,
      entries: 16,
    });
  });

  it('does not create a store that is not there, and checks --anchor', async () => {
    const dir = await auditStore(3);
    const missing = await cli(['audit', 'verify', '--store', 'nope.db'], dir);
    expect(missing.code).toBe(1);
    expect(missing.err[0]).toMatch(/^FORGE_AUDIT_STORE_NOT_FOUND: /);
    const usage = await cli(['audit', 'verify', '--store', 'audit.db', '--anchor', 'x'], dir);
    expect(usage.code).toBe(2);
    const wrong = await cli(
      ['audit', 'verify', '--store', 'audit.db', '--anchor', `2:${'0'.repeat(64)}`],
      dir,
    );
    expect(wrong.code).toBe(1);
    expect(wrong.err[0]).toContain('entry 2 does not match the anchor');
  });

  it('never writes: an intact store keeps its bytes and mtime through verify', async () => {
    const dir = await auditStore(5);
    const path = join(dir, 'audit.db');
    const fingerprint = () => ({
      sha256: createHash('sha256').update(readFileSync(path)).digest('hex'),
      mtimeMs: statSync(path).mtimeMs,
    });
    const before = fingerprint();
    expect((await cli(['audit', 'verify', '--store', 'audit.db'], dir)).code).toBe(0);
    expect(fingerprint()).toEqual(before);
  });

  it('refuses an empty file, a file that is not a store, a mistyped log and a store without audit entries', async () => {
    const dir = await auditStore(3);
    writeFileSync(join(dir, 'empty.db'), '');
    const empty = await cli(['audit', 'verify', '--store', 'empty.db'], dir);
    expect(empty).toMatchObject({ code: 1, out: [] });
    expect(empty.err).toEqual([expect.stringMatching(/^FORGE_AUDIT_NOT_FOUND: .*not a ForgeOne store/)]);
    // Nothing was written into it (the old verify wrote a schema and said "OK: 0 entries").
    expect(statSync(join(dir, 'empty.db')).size).toBe(0);

    writeFileSync(join(dir, 'notes.db'), 'just some text\n'.repeat(300));
    const text = await cli(['audit', 'verify', '--store', 'notes.db'], dir);
    expect(text.code).toBe(1);
    expect(text.err[0]).toMatch(/^FORGE_AUDIT_NOT_FOUND: /);

    const typo = await cli(['audit', 'verify', '--store', 'audit.db', '--log', 'audti'], dir);
    expect(typo.code).toBe(1);
    expect(typo.err).toEqual([expect.stringMatching(/^FORGE_AUDIT_NOT_FOUND: .*has no log "audti"/)]);

    // A kv database: a ForgeOne store, but nothing audited into it.
    const kv = await SqliteStore.open(join(dir, 'kv.db'));
    await kv.putRecord('kv/app', 'k', 'v');
    await kv.append('events', [{ name: 'e' }]);
    await kv.close();
    const kvStore = await cli(['audit', 'verify', '--store', 'kv.db'], dir);
    expect(kvStore.err[0]).toMatch(/^FORGE_AUDIT_NOT_FOUND: .*has no log "audit"/);
    const events = await cli(['audit', 'verify', '--store', 'kv.db', '--log', 'events', '--json'], dir);
    expect(events.code).toBe(1);
    expect(JSON.parse(events.out[0]!)).toMatchObject({ ok: false, code: 'FORGE_AUDIT_NOT_FOUND' });
  });
});
