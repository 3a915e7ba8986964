import { describe, expect, it } from 'vitest';
import {
  createRevocationList,
  createRootSigned,
  generateKeyPair,
  rootStanding,
  signRevocationList,
  signRoot,
  verifyRootChain,
  withRevocations,
  type PrivateKey,
} from '../index';

const [a, b, c] = [generateKeyPair('ed25519'), generateKeyPair('ed25519'), generateKeyPair('ed25519')];

/** A root of keys a, b (root role, `need` signatures) and c (packages role), signed by `signers`. */
function root(signers: readonly PrivateKey[], need = 1) {
  return signRoot(
    createRootSigned({
      expires: '2099-01-01T00:00:00Z',
      root: { keys: [a!.publicKey, b!.publicKey], threshold: { ed25519: need } },
      packages: { keys: [c!.publicKey], threshold: { ed25519: 1 } },
    }),
    signers,
  );
}
const revoking = (ids: readonly PrivateKey[], signers: readonly PrivateKey[]) =>
  signRevocationList(
    createRevocationList({ version: 1, revoked: ids.map((k) => ({ keyid: k.keyId })) }),
    signers,
  );

describe('rootStanding', () => {
  it('a root without revocations stands', () => {
    expect(rootStanding(verifyRootChain([root([a!])]))).toEqual({
      met: true,
      unmet: '',
      revokedRootKeys: [],
    });
  });

  it('a root that stands only on a revoked key does not', () => {
    const doc = withRevocations(root([a!]), revoking([a!], [b!]));
    expect(rootStanding(verifyRootChain([doc]))).toEqual({
      met: false,
      unmet: 'ed25519 0/1',
      revokedRootKeys: [a!.keyId],
    });
  });

  it('a root still signed by an unrevoked key stands; a revoked packages key does not matter to it', () => {
    const doc = withRevocations(root([a!, b!]), revoking([a!, c!], [b!]));
    expect(rootStanding(verifyRootChain([doc]))).toEqual({
      met: true,
      unmet: '',
      revokedRootKeys: [a!.keyId],
    });
  });

  it('counts against the threshold: two of three needed, one of the two signers revoked', () => {
    const three = signRoot(
      createRootSigned({
        expires: '2099-01-01T00:00:00Z',
        root: { keys: [a!.publicKey, b!.publicKey, c!.publicKey], threshold: { ed25519: 2 } },
      }),
      [a!, b!],
    );
    const doc = withRevocations(three, revoking([a!], [b!, c!]));
    expect(rootStanding(verifyRootChain([doc]))).toEqual({
      met: false,
      unmet: 'ed25519 1/2',
      revokedRootKeys: [a!.keyId],
    });
  });
});
