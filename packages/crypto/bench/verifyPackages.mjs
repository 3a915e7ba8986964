// Benchmarks package verification against the sum of its primitives, measured in the same run.
//   node packages/crypto/bench/verifyPackages.mjs [--small 1000] [--rounds 40]
// Needs the built package (pnpm run build). Reports ratios; it is not a pass/fail test.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  buildPackage,
  createRootSigned,
  defaultAlgorithms,
  packageDigest,
  packageSigningMessage,
  parsePackage,
  PrivateKey,
  sha256,
  signPackage,
  signRoot,
  verifyPackage,
  verifyRootChain,
} from '@forgeone/crypto';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const ROUNDS = arg('rounds', 40);
const SMALL = arg('small', 1000);

const ed = PrivateKey.generate('ed25519');
const ml = PrivateKey.generate('ml-dsa-65');
const trustRoot = verifyRootChain([
  signRoot(
    createRootSigned({
      expires: '2099-01-01T00:00:00Z',
      root: { keys: [ed.publicKey, ml.publicKey], threshold: { ed25519: 1, 'ml-dsa-65': 1 } },
    }),
    [ed, ml],
  ),
]);
const source = (name) => ({
  name,
  version: '1.0.0',
  entry: 'main.wasm',
  created_at: '2020-01-01T00:00:00Z',
  expires_at: '2099-01-01T00:00:00Z',
});
const makePackage = (name, content) =>
  signPackage(buildPackage(source(name), new Map([['main.wasm', content]])).bytes, [ed, ml]);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = (fn) => {
  const start = performance.now();
  fn();
  return performance.now() - start;
};
const timeAsync = async (fn) => {
  const start = performance.now();
  await fn();
  return performance.now() - start;
};

// --- 1 MiB hybrid-signed package vs SHA-256(1 MiB) + Ed25519 verify + ML-DSA-65 verify
const content = new Uint8Array(randomBytes(1024 * 1024));
const big = makePackage('big', content);
const parsed = parsePackage(big);
const message = packageSigningMessage(packageDigest(parsed));
const sigOf = (alg) => parsed.signatures.find((s) => s.algorithm === alg).signature;
const edAlg = defaultAlgorithms.get('ed25519');
const mlAlg = defaultAlgorithms.get('ml-dsa-65');
const edSig = sigOf('ed25519');
const mlSig = sigOf('ml-dsa-65');

const check = await verifyPackage(big, { trustRoot });
if (!check.ok) throw new Error(`benchmark package does not verify: ${check.code}`);

const samples = { verify: [], sha: [], ed: [], ml: [] };
for (let i = 0; i < 5; i++) await verifyPackage(big, { trustRoot }); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  // Interleaved, so machine noise hits both sides alike.
  samples.sha.push(time(() => sha256(content)));
  samples.ed.push(time(() => edAlg.verify(ed.publicKey.bytes, message, edSig)));
  samples.ml.push(time(() => mlAlg.verify(ml.publicKey.bytes, message, mlSig)));
  samples.verify.push(await timeAsync(() => verifyPackage(big, { trustRoot })));
}
const primitives = median(samples.sha) + median(samples.ed) + median(samples.ml);
const ratio = median(samples.verify) / primitives;
console.log(`1 MiB hybrid package (ed25519 + ml-dsa-65), ${ROUNDS} rounds, medians:`);
console.log(`  verifyPackage               ${median(samples.verify).toFixed(3)} ms`);
console.log(`  SHA-256(1 MiB)              ${median(samples.sha).toFixed(3)} ms`);
console.log(`  ed25519 verify              ${median(samples.ed).toFixed(3)} ms`);
console.log(`  ml-dsa-65 verify            ${median(samples.ml).toFixed(3)} ms`);
console.log(`  sum of primitives           ${primitives.toFixed(3)} ms`);
console.log(`  ratio verify / primitives   ${ratio.toFixed(3)}x (target <= 1.2x)`);

// --- 1,000 small packages
console.log(`\nbuilding and signing ${SMALL} small packages...`);
const small = [];
for (let i = 0; i < SMALL; i++)
  small.push(makePackage(`pkg-${i}`, new Uint8Array(randomBytes(256 + (i % 1024)))));
for (const bytes of small.slice(0, 20)) await verifyPackage(bytes, { trustRoot });
const start = performance.now();
let valid = 0;
for (const bytes of small) if ((await verifyPackage(bytes, { trustRoot })).ok) valid++;
const total = performance.now() - start;
const perPackagePrimitives = median(samples.ed) + median(samples.ml);
console.log(
  `  verified ${valid}/${SMALL} in ${total.toFixed(0)} ms: ${(total / SMALL).toFixed(3)} ms each, ${((SMALL * 1000) / total).toFixed(0)} packages/s`,
);
console.log(
  `  per package vs ed25519 + ml-dsa-65 verify (${perPackagePrimitives.toFixed(3)} ms): ${(total / SMALL / perPackagePrimitives).toFixed(3)}x`,
);
if (valid !== SMALL) process.exitCode = 1;
