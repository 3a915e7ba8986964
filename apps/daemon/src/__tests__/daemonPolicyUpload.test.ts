import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@forgeone/common';
import { TokenStore, createApiClient } from '@forgeone/interface';
import { startDaemon, type RunningDaemon } from '../daemon';

const policyYaml = (action: 'allow' | 'deny') => `apiVersion: forgeone.dev/v1
kind: Policy
metadata: { name: clock-${action} }
spec:
  nodes:
    - name: base
      rules:
        - { id: clock-${action}, action: ${action}, match: { syscall: forge.clock_now } }
`;
const cases = (action: 'allow' | 'deny') => `apiVersion: forgeone.dev/v1
kind: PolicyTests
cases:
  - name: the clock is ${action}ed
    request: { syscall: forge.clock_now }
    expect: { action: ${action} }
`;

const quiet = createLogger({ name: 'forgeoned-test', level: 'silent' });
const running: RunningDaemon[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop('test over')));
});

async function start(dataDir: string, policyDir: string): Promise<RunningDaemon> {
  const daemon = await startDaemon({
    host: '127.0.0.1',
    port: 0,
    dataDir,
    policyDir,
    logger: quiet,
    debounceMs: 20,
  });
  running.push(daemon);
  return daemon;
}

describe('forgeoned --policy-dir: API uploads go through the directory', () => {
  it('writes an upload as the next policy.<N>.yaml (with its cases), puts it live, refuses what the directory cannot honour, and keeps it across a restart', async () => {
    const root = mkdtempSync(join(tmpdir(), 'forgeoned-upload-'));
    const dataDir = join(root, 'data');
    const policyDir = join(root, 'policies');
    mkdirSync(policyDir);
    writeFileSync(join(policyDir, 'policy.1.yaml'), policyYaml('allow'));
    let daemon = await start(dataDir, policyDir);
    const token = (await new TokenStore(daemon.kernel.store!).create({ role: 'admin', name: 'root' })).token;
    let admin = createApiClient({ baseUrl: daemon.address, token });
    expect(await admin.call('listPolicies', {})).toMatchObject({ source: 'directory', active: 1 });

    const uploaded = await admin.call('uploadPolicy', {
      body: { document: policyYaml('deny'), tests: cases('deny'), reason: 'close the clock' },
    });
    expect(uploaded).toMatchObject({
      activated: true,
      version: { version: 2, active: true, actor: 'api:root', reason: 'close the clock', testsPassed: 1 },
    });
    expect(uploaded.version.source).toBe('policy.2.yaml'); // a file name, not the daemon's path
    expect(readFileSync(join(policyDir, 'policy.2.yaml'), 'utf8')).toBe(policyYaml('deny'));
    expect(readFileSync(join(policyDir, 'policy.2.cases.yaml'), 'utf8')).toBe(cases('deny'));
    // No temporary file is left behind.
    expect(readdirSync(policyDir).sort()).toEqual(['policy.1.yaml', 'policy.2.cases.yaml', 'policy.2.yaml']);

    // Refused before anything is written: a failing case; options the directory cannot honour.
    await expect(
      admin.call('uploadPolicy', { body: { document: policyYaml('allow'), tests: cases('deny') } }),
    ).rejects.toMatchObject({ status: 422, code: 'FORGE_POLICY_SWAP_REFUSED' });
    await expect(
      admin.call('uploadPolicy', { body: { document: policyYaml('allow'), activate: false } }),
    ).rejects.toMatchObject({ status: 409, code: 'FORGE_API_POLICY_DIRECTORY' });
    await expect(admin.call('activatePolicy', { params: { version: '1' } })).rejects.toMatchObject({
      status: 409,
      code: 'FORGE_API_POLICY_DIRECTORY',
    });
    expect(existsSync(join(policyDir, 'policy.3.yaml'))).toBe(false);
    expect(daemon.kernel.policies!.version).toBe(2);

    // A restart reads the directory: the uploaded version is the live one.
    const digest = daemon.kernel.policies!.current.digest;
    await daemon.stop('restart');
    running.splice(0);
    daemon = await start(dataDir, policyDir);
    expect(daemon.kernel.policies!.current.digest).toBe(digest);
    admin = createApiClient({ baseUrl: daemon.address, token });
    const explained = await admin.call('explainPolicy', {
      body: { request: { syscall: 'forge.clock_now' } },
    });
    expect(explained).toMatchObject({ action: 'deny', decidedBy: 'base/clock-deny' });
  });
});
