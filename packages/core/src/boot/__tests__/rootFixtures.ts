import {
  createRevocationList,
  createRootSigned,
  generateKeyPair,
  signRevocationList,
  signRoot,
  withRevocations,
  type PrivateKey,
  type RootDocument,
} from '@forgeone/crypto';
import type { SelfTestOptions, SelfTestReport } from '@forgeone/diagnostics';

/** Boots use this time: roots below expire a year after it. */
export const NOW = Date.parse('2026-06-01T00:00:00Z');
export const EXPIRES = '2027-06-01T00:00:00Z';

export const keyA = generateKeyPair('ed25519');
export const keyB = generateKeyPair('ed25519');

/** A root whose root role is keys A and B (`need` ed25519 signatures), signed by `signers`. */
export function makeRoot(
  options: {
    readonly signers?: readonly PrivateKey[];
    readonly need?: number;
    readonly expires?: string;
    readonly version?: number;
  } = {},
): RootDocument {
  const signed = createRootSigned({
    version: options.version ?? 1,
    expires: options.expires ?? EXPIRES,
    root: { keys: [keyA.publicKey, keyB.publicKey], threshold: { ed25519: options.need ?? 1 } },
  });
  return signRoot(signed, options.signers ?? [keyA]);
}

/** `root` with a revocation list revoking `revoked`, signed by `signers`. */
export function revoke(
  root: RootDocument,
  revoked: readonly PrivateKey[],
  signers: readonly PrivateKey[],
  reason = 'key compromised',
  version = 1,
): RootDocument {
  const list = createRevocationList({
    version,
    revoked: revoked.map((k) => ({ keyid: k.keyId, reason })),
    issued: new Date(NOW),
  });
  return withRevocations(root, signRevocationList(list, signers));
}

/** A self-test stand-in that records whether it ran. */
export function selfTestSpy(ok = true) {
  const calls: SelfTestOptions[] = [];
  const run = (options: SelfTestOptions): Promise<SelfTestReport> => {
    calls.push(options);
    return Promise.resolve({
      ok,
      checks: [{ name: 'webassembly', ok, detail: ok ? 'fine' : 'FORGE_INTERNAL: broken', durationMs: 0 }],
    });
  };
  return { run, calls };
}
