import {
  replayCallLine,
  type GuestGlobal,
  type ReplayDivergence,
  type ReplayFd,
  type ReplayPoint,
} from '@forgeone/execution';
import type { MemoryRegion } from '@forgeone/observer';

const BYTES_PER_LINE = 16;

/** Bytes as hexdump lines: offset, hex, and the printable ASCII (anything else as `.`). */
export function hexDumpLines(region: MemoryRegion): string[] {
  const lines: string[] = [];
  for (let at = 0; at < region.bytes.length; at += BYTES_PER_LINE) {
    const chunk = region.bytes.subarray(at, at + BYTES_PER_LINE);
    const hex = [...chunk].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = [...chunk].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    const offset = (region.offset + at).toString(16).padStart(8, '0');
    lines.push(`  ${offset}  ${hex.padEnd(BYTES_PER_LINE * 3 - 1)}  |${ascii}|`);
  }
  return lines;
}

const globalValue = (g: GuestGlobal) => (typeof g.value === 'bigint' ? `${g.value} (i64)` : String(g.value));

function fdLine(fd: ReplayFd): string {
  const parts = [`fd ${fd.fd}`, fd.kind, fd.path ?? '(path not recorded)'];
  if (fd.rightsBase !== null) parts.push(`rights ${fd.rightsBase}/${fd.rightsInheriting ?? '?'}`);
  if (fd.fdflags !== null) parts.push(`fdflags ${fd.fdflags}`);
  if (fd.kind === 'file') parts.push(`offset ${fd.offset ?? 'unknown'}`);
  if (fd.openedAt !== null) parts.push(`(opened at #${fd.openedAt})`);
  return `  ${parts.join('  ')}`;
}

/** The lines `forgeone replay --until` prints at its stop point. */
export function stopPointLines(
  point: ReplayPoint,
  recorded: number,
  regions: readonly MemoryRegion[],
): string[] {
  const lines = [
    `--- stopped after call #${point.reached.seq} of ${recorded}: ${replayCallLine(point.reached)} ---`,
  ];
  const globals = point.globals();
  lines.push(globals.length === 0 ? 'globals: none exported' : 'globals:');
  for (const g of globals) {
    const name = g.names.length > 0 ? g.names.join(', ') : `global ${g.index ?? '?'}`;
    lines.push(
      `  ${name}${g.index === null || g.names.length === 0 ? '' : ` [${g.index}]`} = ${globalValue(g)}`,
    );
  }
  lines.push('fd table (as the recorded calls built it):');
  for (const fd of point.fdTable()) lines.push(fdLine(fd));
  for (const region of regions) {
    lines.push(
      `memory ${region.offset}:${region.length} (0x${region.offset.toString(16)}, of ${point.memorySize} bytes):`,
    );
    lines.push(...hexDumpLines(region));
  }
  return lines;
}

/** The lines that explain a divergence: both sides, then the calls before it. */
export function divergenceLines(divergence: ReplayDivergence): string[] {
  const lines = [
    `expected: ${divergence.recorded ? `${replayCallLine(divergence.recorded)} (recorded)` : divergence.expected}`,
    `actual:   ${divergence.actual}`,
  ];
  if (divergence.before.length === 0) lines.push('no call before it');
  else {
    lines.push(`the ${divergence.before.length} call(s) before it:`);
    for (const call of divergence.before) lines.push(`  ${replayCallLine(call)}`);
  }
  return lines;
}

/** A stop point as JSON: globals with bigints as strings, fds, memory in hex and base64. */
export function stopPointJson(point: ReplayPoint, regions: readonly MemoryRegion[]) {
  return {
    stopped: point.reached,
    memorySize: point.memorySize,
    globals: point.globals().map((g) => ({
      index: g.index,
      names: g.names,
      // JSON has no i64, NaN or infinities: those are strings.
      value: typeof g.value === 'bigint' || !Number.isFinite(g.value) ? String(g.value) : g.value,
      ...(typeof g.value === 'bigint' ? { type: 'i64' } : {}),
    })),
    fds: point.fdTable(),
    memory: regions.map((r) => ({
      offset: r.offset,
      length: r.length,
      hex: Buffer.from(r.bytes).toString('hex'),
      base64: Buffer.from(r.bytes).toString('base64'),
    })),
  };
}
