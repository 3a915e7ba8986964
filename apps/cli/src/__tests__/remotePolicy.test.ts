import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './support/inProcess';
import { startDaemon, type TestDaemon } from './support/remoteDaemon';

const policy = (name: string, action: 'allow' | 'deny') => `apiVersion: forgeone.dev/v1
kind: Policy
metadata: { name: ${name}, version: '1.0.0' }
spec:
  entry: base
  nodes:
    - name: base
      rules:
        - id: clock
          action: ${action}
          match: { syscall: forge.clock_now }
`;
const CASES_ALLOW = `apiVersion: forgeone.dev/v1
kind: PolicyTests
defaults: { identity: { subject: test } }
cases:
  - name: the clock is allowed
    request: { syscall: forge.clock_now, args: {} }
    expect: { action: allow }
`;

let dir: string;
let policyDir: string;
let daemon: TestDaemon;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'forgeone-remote-policy-'));
  policyDir = join(dir, 'policies');
  mkdirSync(policyDir);
  writeFileSync(join(policyDir, 'policy.yaml'), policy('first', 'allow'));
  writeFileSync(join(dir, 'second.yaml'), policy('second', 'allow'));
  writeFileSync(join(dir, 'denies.yaml'), policy('denies', 'deny'));
  writeFileSync(join(dir, 'allow.cases.yaml'), CASES_ALLOW);
  writeFileSync(join(dir, 'broken.yaml'), 'spec: [unclosed');
  daemon = await startDaemon(['--policy-dir', policyDir]);
});
afterAll(async () => {
  expect(await daemon?.stop()).toBe(0);
});

const remote = (role: 'viewer' | 'operator' | 'admin', ...argv: string[]) =>
  cli(['--remote', daemon.url, '--token-file', daemon.tokenFiles[role], ...argv], dir);

describe('forgeone --remote policy ls|push|activate', () => {
  it("lists the daemon's versions, uploads one that goes live, and refuses what cannot be", async () => {
    const listed = await remote('viewer', 'policy', 'ls');
    expect(listed.code, listed.err.join('\n')).toBe(0);
    expect(listed.out.join('\n')).toMatch(/\* v1 /);

    const pushed = await remote(
      'admin',
      'policy',
      'push',
      'second.yaml',
      'allow.cases.yaml',
      '--reason',
      'new clock',
      '--json',
    );
    expect(pushed.code, pushed.out.join('\n')).toBe(0);
    const result = JSON.parse(pushed.out.join('\n')) as {
      activated: boolean;
      version: { version: number; testsPassed: number };
    };
    expect(result).toMatchObject({ activated: true, version: { version: 2, testsPassed: 1 } });
    // The daemon's policy directory stays its source: the upload became its next file.
    expect(existsSync(join(policyDir, 'policy.1.yaml'))).toBe(true);
    expect(existsSync(join(policyDir, 'policy.1.cases.yaml'))).toBe(true);
    expect((await remote('viewer', 'policy', 'ls')).out.join('\n')).toMatch(/\* v2 /);

    // A version failing its own cases is refused whole, and nothing changes.
    const failing = await remote('admin', 'policy', 'push', 'denies.yaml', 'allow.cases.yaml');
    expect(failing.code).not.toBe(0);
    expect(failing.err.join('\n')).toMatch(/FORGE_POLICY_SWAP_REFUSED/);
    expect(existsSync(join(policyDir, 'policy.2.yaml'))).toBe(false);

    // A viewer may not upload; the directory decides what is active; a broken file is refused here.
    const viewer = await remote('viewer', 'policy', 'push', 'second.yaml');
    expect(viewer.err.join('\n')).toMatch(/FORGE_API_FORBIDDEN/);
    const activate = await remote('admin', 'policy', 'activate', '1');
    expect(activate.err.join('\n')).toMatch(/FORGE_API_POLICY_DIRECTORY/);
    const broken = await remote('admin', 'policy', 'push', 'broken.yaml');
    expect(broken.err.join('\n')).toMatch(/FORGE_POLICY_PARSE/);
    const bad = await remote('admin', 'policy', 'activate', '0');
    expect(bad.code).toBe(2);
    for (const run of [failing, viewer, activate, broken, bad]) {
      expect(run.err).toHaveLength(1);
      expect(run.err.join('\n')).not.toMatch(/\n\s+at /);
    }
    expect((await remote('viewer', 'policy', 'ls')).out.join('\n')).toMatch(/\* v2 /);
  });

  it('needs --remote, and the local policy commands have no remote form', async () => {
    const local = await cli(['policy', 'push', 'second.yaml'], dir);
    expect(local.err.join('\n')).toMatch(/FORGE_CLI_REMOTE_REQUIRED/);
    const check = await remote('viewer', 'policy', 'check', 'second.yaml');
    expect(check.err.join('\n')).toMatch(/FORGE_CLI_NO_REMOTE_FORM/);
  });
});
