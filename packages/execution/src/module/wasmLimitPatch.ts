import { ForgeError } from '@forgeone/common';
import { encodeU32, readSections, WasmReader } from './internal/wasmReader';
import { readLimits, type WasmLimits } from './wasmModuleInfo';

/** The host's caps on what a module may declare (named as in ContainerLimits). */
export type WasmMemoryLimits = {
  /** Largest table, in elements. */
  readonly maxTableElements: number;
} & (
  | {
      /** Largest linear memory, in 64 KiB pages. */
      readonly memoryPages: number;
    }
  | {
      /** @deprecated The name before 0.2: use `memoryPages`. */
      readonly maxMemoryPages: number;
    }
);

const MEMORY = 5;
const TABLE = 4;

function encodeLimits(limits: WasmLimits, cap: number): number[] {
  const maximum = Math.min(limits.maximum ?? cap, cap);
  return [0x01 | (limits.shared ? 0x02 : 0), ...encodeU32(limits.initial), ...encodeU32(maximum)];
}

function checkMemory(limits: WasmLimits, index: number, cap: number): void {
  if (limits.index64) {
    throw new ForgeError(
      'FORGE_LIMIT_MEMORY',
      `memory ${index} is a 64-bit memory, which this host does not run`,
      {
        details: { limit: 'memoryPages', max: cap },
      },
    );
  }
  if (limits.initial > cap) {
    throw new ForgeError(
      'FORGE_LIMIT_MEMORY',
      `memory ${index} starts at ${limits.initial} pages, over the limit of ${cap} pages (${cap * 64} KiB); raise --memory-pages to run it`,
      { details: { limit: 'memoryPages', max: cap, declared: limits.initial } },
    );
  }
}

function checkTable(limits: WasmLimits, index: number, cap: number): void {
  if (limits.index64 || limits.shared) {
    throw new ForgeError('FORGE_LIMIT_TABLE', `table ${index} uses a form this host does not run`, {
      details: { limit: 'tableElements', max: cap },
    });
  }
  if (limits.initial > cap) {
    throw new ForgeError(
      'FORGE_LIMIT_TABLE',
      `table ${index} starts with ${limits.initial} elements, over the limit of ${cap}`,
      { details: { limit: 'tableElements', max: cap, declared: limits.initial } },
    );
  }
}

/**
 * Rewrites the memory and table sections so that every memory and table has a maximum no larger
 * than the host's caps, even when the module declares none: growth past it then fails inside the
 * guest (`memory.grow` returns -1) instead of taking host memory. Every other section is copied
 * byte for byte. Refuses (FORGE_LIMIT_MEMORY / FORGE_LIMIT_TABLE) a module whose initial size is
 * already over a cap, and 64-bit memories. Expects a module that passed `WebAssembly.validate`.
 */
export function applyWasmLimits(bytes: Uint8Array, caps: WasmMemoryLimits): Uint8Array {
  const memoryPages = 'memoryPages' in caps ? caps.memoryPages : caps.maxMemoryPages;
  const sections = readSections(bytes);
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  let changed = false;
  for (const section of sections) {
    if (section.id !== MEMORY && section.id !== TABLE) {
      parts.push(bytes.subarray(section.start, section.end));
      continue;
    }
    const reader = new WasmReader(bytes, section.contentStart, section.end);
    const count = reader.u32();
    const body: number[] = [...encodeU32(count)];
    for (let i = 0; i < count; i += 1) {
      if (section.id === TABLE) {
        // The reference type (with its heap type for 0x63/0x64) is copied as it is.
        const typeStart = reader.offset;
        const code = reader.byte();
        if (code === 0x40) {
          throw new ForgeError(
            'FORGE_LIMIT_TABLE',
            `table ${i} has an initialiser, which this host does not run`,
            {
              details: { limit: 'tableElements', max: caps.maxTableElements },
            },
          );
        }
        if (code === 0x63 || code === 0x64) reader.skipS33();
        const typeBytes = bytes.subarray(typeStart, reader.offset);
        const limits = readLimits(reader);
        checkTable(limits, i, caps.maxTableElements);
        body.push(...typeBytes, ...encodeLimits(limits, caps.maxTableElements));
      } else {
        const limits = readLimits(reader);
        checkMemory(limits, i, memoryPages);
        body.push(...encodeLimits(limits, memoryPages));
      }
    }
    parts.push(Uint8Array.from([section.id, ...encodeU32(body.length), ...body]));
    changed = true;
  }
  if (!changed) return bytes;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}
