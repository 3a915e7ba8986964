import { randomFillSync } from 'node:crypto';
import type { Clock, ContainerId } from '@forgeone/common';

// The same ids as `newId('container')` of @forgeone/common (`ctr_` + 10 chars of time + 16 chars
// of 80 random bits, Crockford base32), with the randomness drawn from the CSPRNG in batches:
// `randomBytes(10)` per id costs more than the rest of a launch's bookkeeping together.
const ENCODING = '0123456789abcdefghjkmnpqrstvwxyz';
const RANDOM_BYTES = 10;
const IDS_PER_FILL = 256;
const pool = new Uint8Array(RANDOM_BYTES * IDS_PER_FILL);
let nextId = IDS_PER_FILL;

/** 40 bits as 8 base32 characters, most significant first. */
function base32Of40(value: number): string {
  let text = '';
  for (let i = 0; i < 8; i += 1) {
    text = ENCODING[value % 32]! + text;
    value = Math.floor(value / 32);
  }
  return text;
}

/** A fresh container id: sorts by creation time, 80 random bits (each pool byte is used once). */
export function newContainerId(clock: Clock): ContainerId {
  if (nextId === IDS_PER_FILL) {
    randomFillSync(pool);
    nextId = 0;
  }
  const at = nextId * RANDOM_BYTES;
  nextId += 1;
  let time = '';
  let t = Math.max(0, Math.floor(clock.now()));
  for (let i = 0; i < 10; i += 1) {
    time = ENCODING[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  let high = 0;
  let low = 0;
  for (let i = 0; i < 5; i += 1) {
    high = high * 256 + pool[at + i]!;
    low = low * 256 + pool[at + 5 + i]!;
  }
  return `ctr_${time}${base32Of40(high)}${base32Of40(low)}` as ContainerId;
}
