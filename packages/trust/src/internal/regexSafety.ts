import { checkSync } from 'recheck';

/**
 * Results per (source, flags). Checking takes milliseconds, and hot reload and tests compile the
 * same patterns again and again; the answer for a pattern never changes.
 */
const verdicts = new Map<string, string | null>();
const MAX_REMEMBERED = 4096;

/**
 * Why a regular expression could take super-linear time on a hostile input (exponential or
 * polynomial backtracking), or undefined when it is linear. Uses recheck, which combines automata
 * theory with fuzzing; when it cannot decide in time the pattern is refused (fail closed).
 */
export function regexProblem(source: string, flags: string): string | undefined {
  const key = `${flags}/${source}`;
  const known = verdicts.get(key);
  if (known !== undefined) return known ?? undefined;
  const verdict = analyse(source, flags);
  if (verdicts.size >= MAX_REMEMBERED) verdicts.clear();
  verdicts.set(key, verdict ?? null);
  return verdict;
}

/**
 * How long one pattern may take to analyse. A plain pattern takes 10-80 ms here; one the checker
 * cannot settle in this time is refused (fail closed), so that a policy at the pattern limit loads
 * in bounded time (it was 10 s per pattern, which hostile policies used).
 */
const ANALYSIS_TIMEOUT_MS = 1_000;

function analyse(source: string, flags: string): string | undefined {
  const result = checkSync(source, flags, { timeout: ANALYSIS_TIMEOUT_MS });
  switch (result.status) {
    case 'safe':
      return undefined;
    case 'vulnerable': {
      const attack =
        result.attack.string.length <= 40 ? ` (attack: ${JSON.stringify(result.attack.string)})` : '';
      return `it takes ${result.complexity.summary} time on some inputs${attack}`;
    }
    case 'unknown':
      return `its running time could not be bounded (${result.error.kind})`;
  }
}
