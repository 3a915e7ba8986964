import { z } from 'zod';
import { parseWith } from '@forgeone/common';

/**
 * When a kv write the guest was told succeeded is in the store:
 * - `commit` (the default): committed (SQLite WAL) before the call returns to the guest, so it
 *   survives the process being killed at any moment. Writes arriving together (several workers)
 *   share one commit.
 * - `relaxed-<N>ms` (e.g. `relaxed-100ms`): acknowledged at once and committed within N ms (and
 *   when the run ends or is interrupted); a crash of the process may lose the last N ms of writes.
 */
export type KvDurability = 'commit' | `relaxed-${number}ms`;

/** A parsed KvDurability. */
export type KvCommitPolicy =
  { readonly kind: 'commit' } | { readonly kind: 'relaxed'; readonly windowMs: number };

/** Longest window of a relaxed namespace, ms. */
export const MAX_KV_RELAXED_MS = 60_000;

export const DEFAULT_KV_DURABILITY: KvDurability = 'commit';

const RELAXED = /^relaxed-(\d{1,5})ms$/;

const KvDurabilitySchema = z
  .string()
  .refine((text) => text === 'commit' || RELAXED.test(text), {
    message: `expected "commit" or "relaxed-<N>ms" with N from 1 to ${MAX_KV_RELAXED_MS}, e.g. relaxed-100ms`,
  })
  .transform((text): KvCommitPolicy => {
    if (text === 'commit') return { kind: 'commit' };
    return { kind: 'relaxed', windowMs: Number(RELAXED.exec(text)![1]) };
  })
  .refine(
    (policy) => policy.kind === 'commit' || (policy.windowMs >= 1 && policy.windowMs <= MAX_KV_RELAXED_MS),
    {
      message: `the relaxed window must be from 1 to ${MAX_KV_RELAXED_MS} ms`,
    },
  );

/** Parses a kv durability (`commit`, `relaxed-<N>ms`) from outside; FORGE_KV_CONFIG_INVALID when malformed. */
export function parseKvDurability(value: unknown = DEFAULT_KV_DURABILITY): KvCommitPolicy {
  return parseWith(KvDurabilitySchema, value, 'kv durability', 'FORGE_KV_CONFIG_INVALID');
}

/** `value` as a KvDurability once it parses (FORGE_KV_CONFIG_INVALID otherwise): for options taken as text. */
export function checkKvDurability(value: string): KvDurability {
  parseKvDurability(value);
  return value as KvDurability;
}
