import { ManualClock } from '@forgeone/common';
import {
  buildPackage,
  createRootSigned,
  PrivateKey,
  signPackage,
  signRoot,
  verifyRootChain,
  type RootDocument,
  type TrustRoot,
} from '../index';

/** 2030-01-01T00:00:00Z: "now" for every fixture. */
export const NOW = Date.parse('2030-01-01T00:00:00Z');
export const clock = () => new ManualClock(NOW);

const cache = new Map<string, PrivateKey>();
/** A deterministic key per label, so suites stay fast and reproducible. */
export function key(algorithm: string, label: string): PrivateKey {
  const id = `${algorithm}/${label}`;
  let found = cache.get(id);
  if (found === undefined) {
    const seedLength = algorithm === 'ed25519' || algorithm.startsWith('ml-dsa') ? 32 : 48;
    const seed = new Uint8Array(seedLength);
    Buffer.from(id).copy(Buffer.from(seed.buffer), 0, 0, Math.min(id.length, seedLength));
    found = PrivateKey.fromSeed(algorithm, seed);
    cache.set(id, found);
  }
  return found;
}

export const ed1 = () => key('ed25519', 'one');
export const ed2 = () => key('ed25519', 'two');
export const ml1 = () => key('ml-dsa-65', 'one');
export const ml2 = () => key('ml-dsa-65', 'two');

/** Root v1: root and packages roles both need one ed25519 and one ml-dsa-65 signature. */
export function hybridRootDocument(
  options: { version?: number; expires?: string; keys?: PrivateKey[]; signers?: PrivateKey[] } = {},
): RootDocument {
  const keys = options.keys ?? [ed1(), ml1(), ed2(), ml2()];
  const signed = createRootSigned({
    ...(options.version === undefined ? {} : { version: options.version }),
    expires: options.expires ?? '2031-01-01T00:00:00Z',
    root: { keys: keys.map((k) => k.publicKey), threshold: { ed25519: 1, 'ml-dsa-65': 1 } },
  });
  return signRoot(signed, options.signers ?? keys.slice(0, 2));
}

export function hybridRoot(): TrustRoot {
  return verifyRootChain([hybridRootDocument()], { clock: clock() });
}

export const source = (extra: Record<string, unknown> = {}) => ({
  name: 'hello',
  version: '1.2.3',
  entry: 'main.wasm',
  description: 'a test package',
  author: 'tests',
  created_at: '2029-06-01T00:00:00Z',
  expires_at: '2030-06-01T00:00:00Z',
  capabilities: ['forge.log'],
  ...extra,
});

export const files = () =>
  new Map<string, Uint8Array>([
    ['main.wasm', Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0])],
    ['data/readme.txt', Buffer.from('hello, forge')],
  ]);

/** A package signed by ed1 + ml1 (meets the hybrid threshold). */
export function signedPackage(
  extra: Record<string, unknown> = {},
  signers: PrivateKey[] = [ed1(), ml1()],
): Uint8Array {
  const { bytes } = buildPackage(source(extra), files());
  return signPackage(bytes, signers);
}

/** The `code` of what `fn` throws, or 'no error'. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return 'no error';
}

/** The `code` of what `fn` throws or rejects with, or 'no error'. */
export async function asyncCodeOf(fn: () => unknown): Promise<string | undefined> {
  try {
    await fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return 'no error';
}
