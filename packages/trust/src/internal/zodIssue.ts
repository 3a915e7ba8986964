import type { z } from 'zod';
import type { DocPathStep } from './docPath';

/**
 * A zod issue as users read it: the path (an unknown field's own name included) and the message.
 * One zod issue may stand for several unknown fields; each becomes its own entry.
 */
export function describeZodIssues(error: z.ZodError): { steps: DocPathStep[]; message: string }[] {
  return error.issues.flatMap((issue) => {
    const steps = issue.path.filter((s): s is string | number => typeof s !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        steps: [...steps, key],
        message: `unknown field ${JSON.stringify(key)}`,
      }));
    }
    return [{ steps, message: issue.message }];
  });
}
