import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ForgeError } from '@forgeone/common';
import { allSyscallNames } from '@forgeone/execution';
import {
  formatPolicyIssue,
  loadPolicyFile,
  loadPolicyTests,
  parseEvaluationContext,
  parseSyscallRequest,
  policyRefusal,
  runPolicyTests,
  validatePolicyFile,
  type ZtaDecision,
  type ZtaPolicyGraph,
} from '@forgeone/trust';
import { CliExit, printJson, printResult, type CliIo } from '../cliIo';

const list = (value: string, previous: string[]) => [
  ...previous,
  ...value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];

async function loadGraph(io: CliIo, file: string): Promise<ZtaPolicyGraph> {
  return loadPolicyFile(resolve(io.cwd, file), { knownSyscalls: allSyscallNames() });
}

/** `forgeone policy check|test|explain`: static checks, test cases and explanations of a policy. */
export function registerPolicy(program: Command, io: CliIo): void {
  const policy = program
    .command('policy')
    .description('check, test and explain zero-trust policy documents (YAML or JSON)');

  policy
    .command('check')
    .description(
      'validate a policy and run its static checks (unknown syscalls, shadowed and unreachable rules, ...)',
    )
    .argument('<policy>', 'policy file (YAML or JSON)')
    .option(
      '--capabilities <list>',
      'capabilities the package requests (comma-separated): report allow rules beyond them',
      list,
      [],
    )
    .option('--strict', 'fail on warnings too')
    .option('--json', 'print a JSON result')
    .action(async (file: string, flags: { capabilities: string[]; strict?: boolean }) => {
      const path = resolve(io.cwd, file);
      const result = await validatePolicyFile(path, {
        knownSyscalls: allSyscallNames(),
        ...(flags.capabilities.length > 0 ? { capabilities: flags.capabilities } : {}),
      });
      if (!result.ok) {
        const refusal = policyRefusal(result.issues);
        if (io.json) {
          printJson(io, { ok: false, code: refusal.code, message: refusal.message, issues: result.issues });
          throw new CliExit(1, refusal.code);
        }
        // One line, `CODE: message`, as every failure: the message lists every problem.
        throw refusal;
      }
      const { graph, warnings } = result;
      const rules = graph.ruleIds().length;
      const summary = `${graph.label}: ${graph.nodes.length} node(s), ${rules} rule(s), ${graph.document.spec.edges.length} edge(s); 0 errors, ${warnings.length} warning(s)`;
      const failed = flags.strict === true && warnings.length > 0;
      if (io.json) {
        printJson(io, {
          ok: !failed,
          code: failed ? 'FORGE_POLICY_CHECK_FAILED' : 'OK',
          message: summary,
          policy: graph.label,
          digest: graph.digest,
          issues: warnings,
        });
        if (failed) throw new CliExit(1, 'FORGE_POLICY_CHECK_FAILED');
        return;
      }
      for (const warning of warnings) io.out(`warning ${warning.code} ${formatPolicyIssue(warning)}`);
      if (failed) {
        throw new ForgeError('FORGE_POLICY_CHECK_FAILED', `${summary}; --strict fails on warnings`);
      }
      io.out(`OK: ${summary}`);
    });

  policy
    .command('test')
    .description('run test cases (cases.yaml) against a policy; prints "N passed, M failed"')
    .argument('<policy>', 'policy file (YAML or JSON)')
    .argument('<cases>', 'test cases file (YAML or JSON, kind: PolicyTests)')
    .option('--json', 'print a JSON result')
    .action(async (file: string, casesFile: string) => {
      const graph = await loadGraph(io, file);
      const casesPath = resolve(io.cwd, casesFile);
      const report = runPolicyTests(graph, await loadPolicyTests(casesPath), casesPath);
      const message = `${report.passed} passed, ${report.failed} failed`;
      const code = report.failed > 0 ? 'FORGE_POLICY_TEST_FAILED' : 'OK';
      if (io.json) {
        printJson(io, {
          ok: report.failed === 0,
          code,
          message,
          passed: report.passed,
          failed: report.failed,
          results: report.results.map((r) => ({
            name: r.name,
            passed: r.passed,
            expected: r.expected,
            actual: r.actual,
            reasons: r.decision.reasons,
          })),
        });
        if (report.failed > 0) throw new CliExit(1, 'FORGE_POLICY_TEST_FAILED');
        return;
      }
      for (const r of report.results) {
        if (r.passed) {
          io.out(`PASS ${r.name} (${r.actual.action} by ${r.actual.rule})`);
        } else {
          const wanted = `${r.expected.action}${r.expected.rule === undefined ? '' : ` by ${r.expected.rule}`}`;
          io.out(`FAIL ${r.name}: expected ${wanted}, got ${r.actual.action} by ${r.actual.rule}`);
          io.out(`     why: ${r.decision.reasons[0]?.message ?? '(no reason)'}`);
        }
      }
      io.out(message);
      if (report.failed > 0) {
        io.err(`FORGE_POLICY_TEST_FAILED: ${report.failed} of ${report.results.length} case(s) failed`);
        throw new CliExit(1, 'FORGE_POLICY_TEST_FAILED');
      }
    });

  policy
    .command('explain')
    .description('decide one request and explain the decision: nodes visited, rules matched and not, scores')
    .argument('<policy>', 'policy file (YAML or JSON)')
    .requiredOption(
      '--request <json>',
      'the request: {"syscall":"wasi.path_open","args":{...},"identity":{...}}',
    )
    .option(
      '--context <json>',
      'what is known about the caller: {"scores":{...},"ruleHits":{...},"markers":[...]}',
    )
    .option('--json', 'print the decision as JSON')
    .action(async (file: string, flags: { request: string; context?: string }) => {
      const request = parseSyscallRequest(flags.request);
      const context =
        flags.context === undefined ? {} : parseEvaluationContext(flags.context, request.containerId);
      const graph = await loadGraph(io, file);
      const decision = graph.evaluate(request, context, { explain: true });
      printResult(io, {
        message: `${decision.action}${decision.decidedBy ? ` by ${decision.decidedBy.id}` : ' by default'}`,
        lines: explainLines(decision),
        data: { decision, policy: graph.label },
      });
    });
}

function explainLines(decision: ZtaDecision): string[] {
  const lines = [`decision: ${decision.action}`];
  const first = decision.reasons[0];
  lines.push(
    decision.decidedBy
      ? `decided by: ${decision.decidedBy.id} (${decision.decidedBy.action}, weight ${decision.decidedBy.weight}): ${first?.message ?? ''}`
      : `decided by: default (no rule matched; the closing policy denies)`,
  );
  lines.push(
    `path: ${decision.visited[0] ?? '-'}${decision.edges.map((e) => ` -> ${e.to} (when ${e.when})`).join('')}${decision.decidedBy ? '' : ' -> default'}`,
  );
  lines.push(`matched (${decision.matched.length}):`);
  for (const m of decision.matched) {
    lines.push(
      `  ${m.decided ? '*' : '-'} ${m.id}  ${m.action}  weight ${m.weight}  [${m.conditions.join('; ')}]${m.decided ? '  <- decides' : ''}`,
    );
  }
  const misses = decision.unmatched ?? [];
  lines.push(`not matched (${misses.length}):`);
  for (const miss of misses)
    lines.push(`  - ${miss.id} (${miss.action}): needs ${miss.failed}, saw ${miss.observed}`);
  const scores = Object.entries(decision.scores).map(([k, v]) => `${k} ${v.toFixed(3)}`);
  if (scores.length > 0) lines.push(`scores: ${scores.join(', ')}`);
  lines.push(`policy: ${decision.policy}`);
  return lines;
}
