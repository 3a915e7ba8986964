import { traceFileRecords } from '../traceFile/traceFileStream';
import { diffSides, diffTraces, type DiffOptions, type TraceDiff } from './traceDiff';

/**
 * Diffs two trace files (see `diffTraces`), each streamed and checked as `traceFileRecords` checks
 * it (bounds, hash chain): memory is a few bytes a call plus each distinct call once.
 */
export async function diffTraceFiles(
  pathA: string,
  pathB: string,
  options: DiffOptions = {},
): Promise<TraceDiff> {
  const [a, b] = diffSides();
  for await (const record of traceFileRecords(pathA)) a.add(record);
  for await (const record of traceFileRecords(pathB)) b.add(record);
  return diffTraces(a, b, options);
}
