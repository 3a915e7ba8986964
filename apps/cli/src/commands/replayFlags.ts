import { ForgeError } from '@forgeone/common';
import { MAX_REGION_BYTES, type ReplayUntil } from '@forgeone/execution';

/** A `--dump-memory OFFSET:LEN` region, parsed. */
export interface DumpRange {
  readonly offset: number;
  readonly length: number;
}

const NUMBER = '(0x[0-9a-f]+|[0-9]+)';
const RANGE = new RegExp(`^${NUMBER}:${NUMBER}$`, 'i');

/** `--until`: a seq (digits) or a syscall name (`wasi.fd_write`, `fd_write`). */
export function parseUntil(text: string): ReplayUntil {
  if (/^[0-9]+$/.test(text)) return Number(text);
  if (/^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/i.test(text)) return text;
  throw new ForgeError(
    'FORGE_INVALID_INPUT',
    `--until ${JSON.stringify(text)}: expected a call's seq (e.g. 12) or a syscall name (e.g. wasi.fd_write)`,
    { details: { field: 'until' } },
  );
}

/**
 * `--dump-memory OFFSET:LEN`, decimal or 0x hex. A length of 0 is refused (FORGE_INVALID_INPUT),
 * one past 1 MiB too (FORGE_REPLAY_MEMORY), before anything runs; bounds are checked at the stop.
 */
export function parseDumpRange(text: string): DumpRange {
  const match = RANGE.exec(text);
  const offset = match ? Number(match[1]) : Number.NaN;
  const length = match ? Number(match[2]) : Number.NaN;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || length === 0) {
    throw new ForgeError(
      'FORGE_INVALID_INPUT',
      `--dump-memory ${JSON.stringify(text)}: expected OFFSET:LEN with LEN > 0, decimal or 0x hex (e.g. 0x100:64)`,
      { details: { field: 'dump-memory' } },
    );
  }
  if (length > MAX_REGION_BYTES) {
    throw new ForgeError(
      'FORGE_REPLAY_MEMORY',
      `--dump-memory ${text}: ${length} bytes is more than the ${MAX_REGION_BYTES} one dump may show; dump it in parts`,
      { details: { offset, length, max: MAX_REGION_BYTES } },
    );
  }
  return { offset, length };
}
