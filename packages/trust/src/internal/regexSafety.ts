import { checkSync } from 'recheck';

/** Why a pattern is refused: it can backtrack catastrophically, or the policy's analysis ran out of time. */
export interface RegexProblem {
  readonly code: 'FORGE_POLICY_UNSAFE_REGEX' | 'FORGE_POLICY_TOO_LARGE';
  readonly message: string;
}

/**
 * Results per (source, flags). Checking takes milliseconds, and hot reload and tests compile the
 * same patterns again and again; the answer for a pattern never changes. (An answer cut short by a
 * policy's budget is not about the pattern, and is not remembered.)
 */
const verdicts = new Map<string, RegexProblem | null>();
const MAX_REMEMBERED = 4096;

/**
 * How long one pattern may take to analyse. A plain pattern takes 10-80 ms here; one the checker
 * cannot settle in this time is refused (fail closed).
 */
const ANALYSIS_TIMEOUT_MS = 1_000;

/**
 * How long all the patterns of one policy may take to analyse together (policyLimits.patternAnalysisMs),
 * so that the worst policy loads in about a second whatever its patterns: the checker's time per
 * pattern is bounded, but 16 hostile patterns at a second each were 16 s.
 */
export const PATTERN_ANALYSIS_BUDGET_MS = 1_000;

/** When the running policy's analysis must end (performance.now()), while one is compiled. */
let budgetEnds: number | undefined;
let warmedUp = false;

/**
 * Runs `fn` (a policy's compilation) with one budget for every pattern it analyses. The checker's
 * one-time start-up (about 0.7 s on the first pattern of a process) is not counted (see
 * regexProblem), so it never makes a policy fail. Nested calls share the outer budget.
 */
export function withPatternBudget<T>(fn: () => T, budgetMs = PATTERN_ANALYSIS_BUDGET_MS): T {
  if (budgetEnds !== undefined) return fn();
  budgetEnds = performance.now() + budgetMs;
  try {
    return fn();
  } finally {
    budgetEnds = undefined;
  }
}

function warmUp(): void {
  if (warmedUp) return;
  warmedUp = true;
  checkSync('a', '', { timeout: ANALYSIS_TIMEOUT_MS });
}

/**
 * Why a regular expression could take super-linear time on a hostile input (exponential or
 * polynomial backtracking), or undefined when it is linear. Uses recheck, which combines automata
 * theory with fuzzing; when it cannot decide in time the pattern is refused (fail closed).
 */
export function regexProblem(source: string, flags: string): RegexProblem | undefined {
  const key = `${flags}/${source}`;
  const known = verdicts.get(key);
  if (known !== undefined) return known ?? undefined;
  if (!warmedUp) {
    // The checker's start-up is nobody's pattern: it never counts against a timeout or a budget.
    const pausedAt = performance.now();
    warmUp();
    if (budgetEnds !== undefined) budgetEnds += performance.now() - pausedAt;
  }
  const left = budgetEnds === undefined ? ANALYSIS_TIMEOUT_MS : budgetEnds - performance.now();
  if (left < 1) return outOfBudget();
  const timeout = Math.min(ANALYSIS_TIMEOUT_MS, Math.ceil(left));
  const result = checkSync(source, flags, { timeout });
  if (result.status === 'unknown' && result.error.kind === 'timeout' && timeout < ANALYSIS_TIMEOUT_MS) {
    return outOfBudget();
  }
  const verdict = verdictOf(result);
  if (verdicts.size >= MAX_REMEMBERED) verdicts.clear();
  verdicts.set(key, verdict ?? null);
  return verdict;
}

function outOfBudget(): RegexProblem {
  return {
    code: 'FORGE_POLICY_TOO_LARGE',
    message: `the policy's regex and glob patterns took more than ${PATTERN_ANALYSIS_BUDGET_MS} ms to analyse together`,
  };
}

function verdictOf(result: ReturnType<typeof checkSync>): RegexProblem | undefined {
  switch (result.status) {
    case 'safe':
      return undefined;
    case 'vulnerable': {
      const attack =
        result.attack.string.length <= 40 ? ` (attack: ${JSON.stringify(result.attack.string)})` : '';
      return {
        code: 'FORGE_POLICY_UNSAFE_REGEX',
        message: `it takes ${result.complexity.summary} time on some inputs${attack}`,
      };
    }
    case 'unknown':
      return {
        code: 'FORGE_POLICY_UNSAFE_REGEX',
        message: `its running time could not be bounded (${result.error.kind})`,
      };
  }
}
