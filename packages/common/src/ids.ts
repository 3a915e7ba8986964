import { randomFillSync } from 'node:crypto';

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
 * and are unguessable (80 random bits). Ids made in the same millisecond by this process still
 * sort in the order they were made: the random part of the next one is the last one's plus a
 * random step of 1 to 2^32 (a list ordered by id is the creation order, not a coin toss).
 */
export function newId<K extends IdKind>(kind: K, now: number = Date.now()): Id<K> {
  const ms = Math.max(0, Math.floor(now));
  let time = '';
  let t = ms;
  for (let i = 0; i < 10; i += 1) {
    time = ENCODING[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  return `${prefixes[kind]}_${time}${encodeRandom(nextRandom(ms))}` as Id<K>;
}

const RANDOM_SPACE = 1n << 80n;
let lastMs = -1;
let lastRandom = 0n;

/**
 * Random bytes drawn from the CSPRNG 4 KiB at a time and handed out once each: two randomBytes
 * calls per id were a tenth of a container's launch.
 */
const randomPool = Buffer.alloc(4096);
let randomAt = randomPool.length;

function randomBytes(n: number): Buffer {
  if (randomAt + n > randomPool.length) {
    randomFillSync(randomPool);
    randomAt = 0;
  }
  const bytes = randomPool.subarray(randomAt, randomAt + n);
  randomAt += n;
  return bytes;
}

function nextRandom(ms: number): bigint {
  let value: bigint;
  const step = 1n + BigInt(randomBytes(4).readUInt32BE(0));
  if (ms === lastMs && lastRandom + step < RANDOM_SPACE) {
    value = lastRandom + step;
  } else {
    // A new millisecond (or the space ran out, after ~2^48 ids in one millisecond): fresh bits.
    value = BigInt(`0x${randomBytes(10).toString('hex')}`);
  }
  lastMs = ms;
  lastRandom = value;
  return value;
}

function encodeRandom(value: bigint): string {
  let out = '';
  let v = value;
  for (let i = 0; i < 16; i += 1) {
    out = ENCODING[Number(v & 31n)]! + out;
    v >>= 5n;
  }
  return out;
}

/** True when `value` has the shape of an id of `kind`. */
export function isId<K extends IdKind>(kind: K, value: unknown): value is Id<K> {
  return typeof value === 'string' && new RegExp(`^${prefixes[kind]}_[0-9a-hjkmnp-tv-z]{26}$`).test(value);
}
