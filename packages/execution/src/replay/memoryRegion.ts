import { ForgeError } from '@forgeone/common';
import type { MemoryRegion } from '@forgeone/observer';
import type { GuestMemory } from '../gate/guestMemory';

/** The most bytes one region may be read as (a dump is for reading, not for copying memories). */
export const MAX_REGION_BYTES = 1024 * 1024;

/**
 * Copies a region of guest memory. FORGE_REPLAY_MEMORY when it lies outside the memory (the size
 * is named) or is longer than MAX_REGION_BYTES; FORGE_INVALID_INPUT for a negative or fractional
 * offset or length.
 */
export function readMemoryRegion(memory: GuestMemory, offset: number, length: number): MemoryRegion {
  for (const [field, value] of [
    ['offset', offset],
    ['length', length],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new ForgeError(
        'FORGE_INVALID_INPUT',
        `memory region ${field} ${value} is not a whole number >= 0`,
        {
          details: { field },
        },
      );
    }
  }
  if (length > MAX_REGION_BYTES) {
    throw new ForgeError(
      'FORGE_REPLAY_MEMORY',
      `memory region ${offset}:${length} is longer than the ${MAX_REGION_BYTES} bytes a region may be; read it in parts`,
      { details: { offset, length, max: MAX_REGION_BYTES } },
    );
  }
  const size = memory.bound ? memory.size : 0;
  if (offset + length > size) {
    throw new ForgeError(
      'FORGE_REPLAY_MEMORY',
      `memory region ${offset}:${length} ends at ${offset + length}, past the end of the guest's memory (${size} bytes)`,
      { details: { offset, length, size } },
    );
  }
  return { offset, length, bytes: memory.read(offset, length) };
}
