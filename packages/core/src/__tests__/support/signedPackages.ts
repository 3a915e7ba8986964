import { ManualClock } from '@forgeone/common';
import {
  PrivateKey,
  buildPackage,
  createRootSigned,
  signPackage,
  signRoot,
  verifyRootChain,
} from '@forgeone/crypto';

/**
 * A one-key Ed25519 trust root valid at `now` (a year after it, expired) and a way to make signed
 * test packages under it: the tests' real ForgePkg, verified as users' packages are.
 */
export function signedPackages(seed: number, now: number) {
  const key = PrivateKey.fromSeed('ed25519', new Uint8Array(32).fill(seed));
  const root = verifyRootChain(
    [
      signRoot(
        createRootSigned({
          expires: new Date(now + 365 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          root: { keys: [key.publicKey], threshold: { ed25519: 1 } },
        }),
        [key],
      ),
    ],
    { clock: new ManualClock(now) },
  );
  /** A package `name@1.0.0` of one module (`main.wat`) with these manifest capabilities. */
  const packageOf = (name: string, wat: Uint8Array, capabilities: readonly string[]): Uint8Array => {
    const built = buildPackage(
      {
        name,
        version: '1.0.0',
        entry: 'main.wat',
        created_at: new Date(now - 180 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        expires_at: new Date(now + 180 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        capabilities,
      },
      new Map([['main.wat', wat]]),
    );
    return signPackage(built.bytes, [key]);
  };
  return { key, root, packageOf };
}
