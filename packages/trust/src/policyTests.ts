import {
  ExecutionDnaSchema,
  ForgeError,
  IdentityContextSchema,
  assuranceLevels,
  decisionActions,
  emptyExecutionDna,
  guestPathArgs,
  isCanonicalGuestPath,
  type ContainerId,
  type DecisionAction,
  type ExecutionDNA,
  type SyscallRequest,
} from '@forgeone/common';
import { z } from 'zod';
import { formatDocPath } from './internal/docPath';
import { describeZodIssues } from './internal/zodIssue';
import type { EvaluationContext } from './internal/evalState';
import { POLICY_API_VERSION } from './policyDocument';
import { readSourceFile, type ParsedSource } from './policySource';
import type { ZtaDecision, ZtaPolicyGraph } from './ztaPolicyGraph';

const Unit = z.number().min(0).max(1);
const ArgValue = z.union([z.string().max(65_536), z.number(), z.boolean(), z.null()]);

/** A syscall request as users write it (JSON on the command line, YAML in test cases). */
export const SyscallRequestInputSchema = z.strictObject({
  syscall: z.string().regex(/^[a-z][a-z0-9_]*\.[a-z0-9_]+$/, 'must be a syscall name like wasi.path_open'),
  args: z.record(z.string().max(64), ArgValue).default({}),
  /** Who calls; default `{ subject: "policy-test" }` (or the file's defaults). */
  identity: z.unknown().optional(),
  containerId: z.string().min(1).max(128).optional(),
  /** Epoch milliseconds or an ISO-8601 time; default the Unix epoch. */
  time: z.union([z.number(), z.iso.datetime()]).optional(),
  scores: z.strictObject({ trust: Unit.optional(), anomaly: Unit.optional() }).optional(),
});
export type SyscallRequestInput = z.input<typeof SyscallRequestInputSchema>;

const PartialDna = z.strictObject({
  syscallCounts: z.record(z.string(), z.number().int().nonnegative()).optional(),
  totalCalls: z.number().int().nonnegative().optional(),
  deniedCalls: z.number().int().nonnegative().optional(),
});

/** What a test case (or `policy explain --context`) knows about the caller's behaviour. */
export const EvaluationContextInputSchema = z.strictObject({
  scores: z.strictObject({ trust: Unit.optional(), anomaly: Unit.optional() }).optional(),
  markers: z.array(z.string().max(64)).max(64).optional(),
  ruleHits: z.record(z.string().max(160), z.number().int().nonnegative()).optional(),
  dna: PartialDna.optional(),
  baseline: PartialDna.optional(),
  signals: z
    .strictObject({
      assurance: z.enum(assuranceLevels).optional(),
      provenance: z.enum(['unsigned', 'signed', 'hybrid']).optional(),
      trustedSigner: z.boolean().optional(),
      dnaDeviation: Unit.optional(),
      deniedRatio: Unit.optional(),
      anomaly: Unit.optional(),
      quarantines: z.number().int().nonnegative().optional(),
    })
    .optional(),
});

const CaseSchema = z.strictObject({
  name: z.string().min(1).max(256),
  request: SyscallRequestInputSchema,
  context: EvaluationContextInputSchema.optional(),
  expect: z.strictObject({
    action: z.enum(decisionActions),
    /** `node/rule` that must decide; `default` for the closing deny. */
    rule: z.string().min(1).max(160).optional(),
  }),
});

/** A `cases.yaml` file for `forgeone policy test`. */
export const PolicyTestsSchema = z.strictObject({
  apiVersion: z.literal(POLICY_API_VERSION),
  kind: z.literal('PolicyTests'),
  defaults: z
    .strictObject({
      identity: z.unknown().optional(),
      context: EvaluationContextInputSchema.optional(),
    })
    .optional(),
  cases: z.array(CaseSchema).min(1).max(10_000),
});
export type PolicyTests = z.output<typeof PolicyTestsSchema>;

function dnaOf(input: z.output<typeof PartialDna>, containerId: string): ExecutionDNA {
  const counts = input.syscallCounts ?? {};
  const total = input.totalCalls ?? Object.values(counts).reduce((a, b) => a + b, 0);
  return ExecutionDnaSchema.parse({
    ...emptyExecutionDna(containerId),
    syscallCounts: counts,
    totalCalls: total,
    deniedCalls: input.deniedCalls ?? 0,
  });
}

function requestError(message: string, path: string): ForgeError {
  return new ForgeError('FORGE_POLICY_REQUEST_INVALID', message, { details: { path } });
}

/** Turns a parsed request input into a SyscallRequest (identity validated, time resolved). */
export function toSyscallRequest(
  input: z.output<typeof SyscallRequestInputSchema>,
  defaultIdentity: unknown = { subject: 'policy-test' },
): SyscallRequest {
  const identity = IdentityContextSchema.safeParse(input.identity ?? defaultIdentity);
  if (!identity.success) {
    const issue = identity.error.issues[0];
    const at = formatDocPath(['identity', ...(issue?.path ?? []).filter((s) => typeof s !== 'symbol')] as (
      string | number
    )[]);
    throw requestError(`invalid request at ${at}: ${issue?.message ?? 'invalid identity'}`, at);
  }
  for (const name of guestPathArgs) {
    const value = input.args[name];
    // Rules compare paths as text: a path that is not canonical would mean something else to them.
    if (typeof value === 'string' && value.startsWith('/') && !isCanonicalGuestPath(value)) {
      throw requestError(
        `invalid request at args.${name}: ${JSON.stringify(value.slice(0, 200))} is not a canonical guest path (no ., .., // or trailing /); give the path the sandbox would resolve, like /etc/passwd`,
        `args.${name}`,
      );
    }
  }
  const time =
    input.time === undefined ? 0 : typeof input.time === 'number' ? input.time : Date.parse(input.time);
  return {
    containerId: (input.containerId ?? 'ctr_policytest') as ContainerId,
    identity: identity.data,
    syscall: input.syscall,
    args: input.args,
    time,
    ...(input.scores ? { scores: definedScores(input.scores) } : {}),
  };
}

function definedScores(scores: { trust?: number | undefined; anomaly?: number | undefined }): {
  trust?: number;
  anomaly?: number;
} {
  return {
    ...(scores.trust === undefined ? {} : { trust: scores.trust }),
    ...(scores.anomaly === undefined ? {} : { anomaly: scores.anomaly }),
  };
}

/** Turns a parsed context input into an EvaluationContext. */
export function toEvaluationContext(
  input: z.output<typeof EvaluationContextInputSchema> | undefined,
  containerId: string,
): EvaluationContext {
  if (!input) return {};
  return {
    ...(input.scores ? { scores: input.scores } : {}),
    ...(input.markers ? { markers: input.markers } : {}),
    ...(input.ruleHits ? { ruleHits: input.ruleHits } : {}),
    ...(input.dna ? { dna: dnaOf(input.dna, containerId) } : {}),
    ...(input.baseline ? { baseline: dnaOf(input.baseline, containerId) } : {}),
    ...(input.signals ? { signals: input.signals } : {}),
  };
}

/** Parses a request given as JSON text or a value (from `policy explain --request`). */
export function parseSyscallRequest(input: unknown): SyscallRequest {
  const parsed = SyscallRequestInputSchema.safeParse(jsonInput(input, 'request'));
  if (!parsed.success) throw zodRequestError(parsed.error, 'request');
  return toSyscallRequest(parsed.data);
}

/** Parses an evaluation context given as JSON text or a value. */
export function parseEvaluationContext(input: unknown, containerId = 'ctr_policytest'): EvaluationContext {
  const parsed = EvaluationContextInputSchema.safeParse(jsonInput(input, 'context'));
  if (!parsed.success) throw zodRequestError(parsed.error, 'context');
  return toEvaluationContext(parsed.data, containerId);
}

/** A value, or JSON text parsed into one (a parse failure is FORGE_POLICY_REQUEST_INVALID). */
function jsonInput(input: unknown, what: string): unknown {
  if (typeof input !== 'string') return input;
  try {
    return JSON.parse(input);
  } catch (error) {
    throw requestError(`the ${what} is not valid JSON: ${(error as Error).message}`, '(root)');
  }
}

function zodRequestError(error: z.ZodError, what: string): ForgeError {
  const first = describeZodIssues(error)[0];
  const at = formatDocPath(first?.steps ?? []);
  return requestError(`invalid ${what} at ${at}: ${first?.message ?? 'invalid value'}`, at);
}

/** The outcome of one test case. */
export interface PolicyTestResult {
  readonly name: string;
  readonly passed: boolean;
  readonly expected: { readonly action: DecisionAction; readonly rule?: string | undefined };
  readonly actual: { readonly action: DecisionAction; readonly rule: string };
  readonly decision: ZtaDecision;
}

export interface PolicyTestReport {
  readonly passed: number;
  readonly failed: number;
  readonly results: readonly PolicyTestResult[];
}

/** Runs every case against the graph. Throws FORGE_POLICY_TESTS_INVALID for a bad identity. */
export function runPolicyTests(graph: ZtaPolicyGraph, tests: PolicyTests, file?: string): PolicyTestReport {
  const results = tests.cases.map((testCase, i): PolicyTestResult => {
    let request: SyscallRequest;
    try {
      request = toSyscallRequest(testCase.request, tests.defaults?.identity ?? { subject: 'policy-test' });
    } catch (error) {
      const where = `cases[${i}].request.${String((error as ForgeError).details['path'] ?? '')}`;
      throw new ForgeError(
        'FORGE_POLICY_TESTS_INVALID',
        `${file ? `${file}: ` : ''}case "${testCase.name}": ${(error as Error).message}`,
        { details: { file: file ?? null, path: where } },
      );
    }
    const context = toEvaluationContext(testCase.context ?? tests.defaults?.context, request.containerId);
    const decision = graph.evaluate(request, context, { explain: true });
    const rule = decision.decidedBy?.id ?? 'default';
    const passed =
      decision.action === testCase.expect.action &&
      (testCase.expect.rule === undefined || testCase.expect.rule === rule);
    return {
      name: testCase.name,
      passed,
      expected: testCase.expect,
      actual: { action: decision.action, rule },
      decision,
    };
  });
  const passed = results.filter((r) => r.passed).length;
  return { passed, failed: results.length - passed, results };
}

/** Parses a test-cases document; problems are FORGE_POLICY_TESTS_INVALID with the path and line. */
export function parsePolicyTests(source: ParsedSource): PolicyTests {
  const parsed = PolicyTestsSchema.safeParse(source.value);
  if (parsed.success) return parsed.data;
  const first = describeZodIssues(parsed.error)[0] ?? { steps: [], message: 'invalid document' };
  const at = source.locate(first.steps);
  const path = formatDocPath(first.steps);
  const message = first.message;
  const where = source.file ? `${source.file}${at ? `:${at.line}:${at.column}` : ''} ` : '';
  throw new ForgeError('FORGE_POLICY_TESTS_INVALID', `${where}${path}: ${message}`, {
    details: { file: source.file ?? null, path, line: at?.line ?? null },
  });
}

/** Reads and parses a `cases.yaml` file. */
export async function loadPolicyTests(path: string): Promise<PolicyTests> {
  return parsePolicyTests(await readSourceFile(path));
}
