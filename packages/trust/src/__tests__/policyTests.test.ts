import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicyFile, loadPolicyTests, parseSyscallRequest, runPolicyTests } from '../index';
import { allSyscalls, examplePolicy } from './support';

describe('policy test cases', () => {
  it('the example policy passes its own cases', async () => {
    const graph = await loadPolicyFile(examplePolicy('report-plugin.yaml'), { knownSyscalls: allSyscalls });
    const report = runPolicyTests(graph, await loadPolicyTests(examplePolicy('report-plugin.cases.yaml')));
    expect(report.failed).toBe(0);
    expect(report.passed).toBeGreaterThanOrEqual(15);
    expect(new Set(report.results.map((r) => r.actual.action))).toEqual(
      new Set(['allow', 'deny', 'ask', 'quarantine']),
    );
  });

  it('a case whose expectation the policy does not meet fails, with what happened instead', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forge-cases-'));
    const cases = join(dir, 'cases.yaml');
    writeFileSync(
      cases,
      `apiVersion: forgeone.dev/v1
kind: PolicyTests
cases:
  - name: opens /etc/passwd
    request: { syscall: wasi.path_open, args: { path: /etc/passwd, write: false } }
    expect: { action: allow }
  - name: right action, wrong rule
    request: { syscall: wasi.sock_accept }
    expect: { action: deny, rule: base/outside-data }
  - name: network
    request: { syscall: wasi.sock_accept }
    expect: { action: deny, rule: base/no-network }
`,
    );
    const graph = await loadPolicyFile(examplePolicy('report-plugin.yaml'));
    const report = runPolicyTests(graph, await loadPolicyTests(cases));
    expect([report.passed, report.failed]).toEqual([1, 2]);
    expect(report.results[0]).toMatchObject({
      passed: false,
      actual: { action: 'deny', rule: 'base/outside-data' },
    });
    expect(report.results[1]).toMatchObject({
      passed: false,
      actual: { action: 'deny', rule: 'base/no-network' },
    });
  });

  it('a malformed cases file is FORGE_POLICY_TESTS_INVALID with its path and line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forge-cases-'));
    const cases = join(dir, 'cases.yaml');
    writeFileSync(
      cases,
      `apiVersion: forgeone.dev/v1\nkind: PolicyTests\ncases:\n  - name: x\n    request: { syscall: forge.log }\n    expect: { action: permit }\n`,
    );
    await expect(loadPolicyTests(cases)).rejects.toMatchObject({
      code: 'FORGE_POLICY_TESTS_INVALID',
      details: { path: 'cases[0].expect.action', line: 6 },
    });
  });

  it('requests from the command line are validated: JSON, unknown fields, identity', () => {
    expect(parseSyscallRequest('{"syscall":"forge.log"}')).toMatchObject({
      syscall: 'forge.log',
      args: {},
      identity: { subject: 'policy-test' },
    });
    expect(() => parseSyscallRequest('{nope')).toThrow(
      expect.objectContaining({ code: 'FORGE_POLICY_REQUEST_INVALID' }),
    );
    expect(() => parseSyscallRequest('{"syscall":"forge.log","agrs":{}}')).toThrow(/unknown field "agrs"/);
    expect(() => parseSyscallRequest('{"syscall":"forge.log","identity":{"subject":""}}')).toThrow(
      /identity\.subject/,
    );
  });
});
