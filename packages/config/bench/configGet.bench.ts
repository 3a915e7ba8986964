// (a) `ConfigContext.get` of a hot value (a limit read at every launch) against reading the same
// value as a plain object property, measured in the same run. Run from the repository root:
// `npx vitest bench --run --project config`. Each iteration reads 1,000 times and folds every read
// into a sum that is kept, so neither side can be optimised away; the ratio vitest prints under
// the group is the figure to read (target: get within 3x of the plain read).
import { bench, describe } from 'vitest';
import { ConfigContext } from '../src/index';
import { benchSchema } from './benchSchema';

const schema = benchSchema;
const ctx = await ConfigContext.open({ schema, initial: { limits: { timeoutMs: 1234 } } });
// The baseline: the same configuration as a plain (unfrozen) object, read the way code does today.
const plain = JSON.parse(JSON.stringify(ctx.value())) as {
  limits: { timeoutMs: number; memoryPages: number };
};

const READS = 1000;
let sink = 0;

describe('read a hot limit (x1000 per iteration)', () => {
  bench('plain object property config.limits.timeoutMs (baseline)', () => {
    let sum = 0;
    for (let i = 0; i < READS; i++) sum += plain.limits.timeoutMs + i;
    sink ^= sum;
  });
  bench("ctx.get('limits.timeoutMs')", () => {
    let sum = 0;
    for (let i = 0; i < READS; i++) sum += ctx.get('limits.timeoutMs') + i;
    sink ^= sum;
  });
  const timeoutMs = ctx.reader('limits.timeoutMs');
  bench("ctx.reader('limits.timeoutMs')()", () => {
    let sum = 0;
    for (let i = 0; i < READS; i++) sum += timeoutMs() + i;
    sink ^= sum;
  });
  bench("ctx.get('limits').timeoutMs", () => {
    let sum = 0;
    for (let i = 0; i < READS; i++) sum += ctx.get('limits').timeoutMs + i;
    sink ^= sum;
  });
});

describe('read two limits of a launch (x1000 per iteration)', () => {
  bench('plain object properties (baseline)', () => {
    let sum = 0;
    for (let i = 0; i < READS; i++) sum += plain.limits.timeoutMs + plain.limits.memoryPages + i;
    sink ^= sum;
  });
  bench('ctx.get x2', () => {
    let sum = 0;
    for (let i = 0; i < READS; i++) sum += ctx.get('limits.timeoutMs') + ctx.get('limits.memoryPages') + i;
    sink ^= sum;
  });
});

// Four contexts and four objects read in turn: the read cannot be hoisted out of the loop on either side.
const contexts = await Promise.all(
  [1, 2, 3, 4].map((n) => ConfigContext.open({ schema, initial: { limits: { timeoutMs: n } } })),
);
const plains = contexts.map((c) => JSON.parse(JSON.stringify(c.value())) as typeof plain);

describe('read a hot limit from one of 4 configurations in turn (x1000 per iteration)', () => {
  bench('plain object property (baseline)', () => {
    let sum = 0;
    for (let i = 0; i < READS; i++) sum += plains[i & 3]!.limits.timeoutMs;
    sink ^= sum;
  });
  bench("ctx.get('limits.timeoutMs')", () => {
    let sum = 0;
    for (let i = 0; i < READS; i++) sum += contexts[i & 3]!.get('limits.timeoutMs');
    sink ^= sum;
  });
  const readers = contexts.map((c) => c.reader('limits.timeoutMs'));
  bench("ctx.reader('limits.timeoutMs')()", () => {
    let sum = 0;
    for (let i = 0; i < READS; i++) sum += readers[i & 3]!();
    sink ^= sum;
  });
});

// Keeps `sink` observable, so the loops above stay live.
export const benchSink = () => sink;
