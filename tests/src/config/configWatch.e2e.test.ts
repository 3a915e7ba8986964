import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliPath, hasStackTrace, repoRoot } from '../support/cli';

const dir = mkdtempSync(join(tmpdir(), 'forge-e2e-config-watch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('forgeone config watch --json (built CLI)', () => {
  it('prints one JSON line per reload: applied with the changed paths, or refused with the code', async () => {
    const file = join(dir, 'forgeone.yaml');
    writeFileSync(file, 'mode: audit\n');
    const child = spawn(process.execPath, [cliPath, 'config', 'watch', file, '--json'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const until = async (check: () => boolean) => {
      const deadline = Date.now() + 30_000;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out; stdout: ${stdout} stderr: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };
    const lines = () => stdout.split('\n').filter(Boolean);
    try {
      await until(() => stderr.includes('watching'));
      writeFileSync(file, 'mode: audit\nlimits: { timeoutMs: 250 }\n');
      await until(() => lines().length >= 1);
      expect(JSON.parse(lines()[0]!)).toEqual({ applied: true, version: 2, changed: ['limits.timeoutMs'] });
      writeFileSync(file, 'mode: audit\nlimits: { timeoutMs: "soon" }\n');
      await until(() => lines().length >= 2);
      expect(JSON.parse(lines()[1]!)).toMatchObject({ applied: false, code: 'FORGE_CONFIG_INVALID' });
      writeFileSync(file, 'mode: enforce\nlimits: { timeoutMs: 250 }\n');
      await until(() => lines().length >= 3);
      expect(JSON.parse(lines()[2]!)).toEqual({ applied: true, version: 3, changed: ['mode'] });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(143);
    expect(stderr).toContain('FORGE_INTERRUPTED');
    expect(hasStackTrace(stderr)).toBe(false);
  });
});
