import { randomBytes } from 'node:crypto';

/** A string id branded with what it identifies, so a ContainerId is not passed where a TraceId goes. */
export type Id<Kind extends string> = string & { readonly __idKind: Kind };
export type ContainerId = Id<'container'>;
export type TraceId = Id<'trace'>;
export type KernelId = Id<'kernel'>;

const prefixes = { container: 'ctr', trace: 'trc', kernel: 'krn' } as const;
type IdKind = keyof typeof prefixes;

const ENCODING = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case

/**
 * A new id: `<prefix>_<10 chars of time><16 chars of randomness>`, so ids sort by creation time
 * and are unguessable (80 random bits).
 */
export function newId<K extends IdKind>(kind: K, now: number = Date.now()): Id<K> {
  let time = '';
  let t = Math.max(0, Math.floor(now));
  for (let i = 0; i < 10; i += 1) {
    time = ENCODING[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(10);
  let rand = '';
  let acc = 0;
  let bits = 0;
  for (const byte of bytes) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      rand += ENCODING[(acc >> bits) & 31]!;
    }
  }
  return `${prefixes[kind]}_${time}${rand}` as Id<K>;
}

/** True when `value` has the shape of an id of `kind`. */
export function isId<K extends IdKind>(kind: K, value: unknown): value is Id<K> {
  return typeof value === 'string' && new RegExp(`^${prefixes[kind]}_[0-9a-hjkmnp-tv-z]{26}$`).test(value);
}
