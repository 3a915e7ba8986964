import { describe, expect, it } from 'vitest';
import { ManualClock, MemoryStore } from '@forgeone/common';
import {
  createRevocationList,
  createRootSigned,
  loadTrustRoot,
  parseRootDocument,
  signRevocationList,
  signRoot,
  verifyPackage,
  verifyRootChain,
  withRevocations,
  type RootDocument,
} from '../index';
import {
  clock,
  ed1,
  ed2,
  hybridRootDocument,
  key,
  ml1,
  ml2,
  NOW,
  signedPackage,
  asyncCodeOf,
} from './fixtures';

const ed3 = () => key('ed25519', 'three');
const ml3 = () => key('ml-dsa-65', 'three');

/** Root v2 with new keys ed3 + ml3, signed by `signers`. */
function rootV2(signers = [ed1(), ml1(), ed3(), ml3()], version = 2): RootDocument {
  const signed = createRootSigned({
    version,
    expires: '2032-01-01T00:00:00Z',
    root: { keys: [ed3().publicKey, ml3().publicKey], threshold: { ed25519: 1, 'ml-dsa-65': 1 } },
  });
  return signRoot(signed, signers);
}

describe('trust root', () => {
  it('has the TUF layout and verifies with a hybrid threshold', () => {
    const doc = hybridRootDocument();
    expect(Object.keys(doc)).toEqual(['signed', 'signatures']);
    expect(Object.keys(doc.signed).sort()).toEqual([
      'expires',
      'keys',
      'roles',
      'spec_version',
      'type',
      'version',
    ]);
    expect(doc.signed.roles.packages.threshold).toEqual({ ed25519: 1, 'ml-dsa-65': 1 });
    const root = verifyRootChain([JSON.parse(JSON.stringify(doc))], { clock: clock() });
    expect(root.version).toBe(1);
    expect(root.keys.size).toBe(4);
  });

  it('refuses a root signed by one algorithm only (threshold per algorithm)', async () => {
    const doc = hybridRootDocument({ signers: [ed1(), ed2()] });
    expect(await asyncCodeOf(() => verifyRootChain([doc], { clock: clock() }))).toBe('FORGE_ROOT_THRESHOLD');
  });

  it('refuses an expired root and a tampered one', async () => {
    expect(
      await asyncCodeOf(() =>
        verifyRootChain([hybridRootDocument()], {
          clock: new ManualClock(Date.parse('2031-01-01T00:00:01Z')),
        }),
      ),
    ).toBe('FORGE_ROOT_EXPIRED');
    const doc = hybridRootDocument();
    const tampered = { ...doc, signed: { ...doc.signed, expires: '2099-01-01T00:00:00.000Z' } };
    expect(await asyncCodeOf(() => verifyRootChain([tampered], { clock: clock() }))).toBe(
      'FORGE_ROOT_BAD_SIGNATURE',
    );
  });

  it('refuses structurally unusable roots with FORGE_ROOT_INVALID', async () => {
    const doc = hybridRootDocument();
    expect(
      await asyncCodeOf(() => parseRootDocument({ ...doc, signed: { ...doc.signed, type: 'targets' } })),
    ).toBe('FORGE_ROOT_INVALID');
    const impossible = {
      ...doc.signed,
      roles: { ...doc.signed.roles, root: { ...doc.signed.roles.root, threshold: { ed25519: 3 } } },
    };
    expect(await asyncCodeOf(() => parseRootDocument({ ...doc, signed: impossible }))).toBe(
      'FORGE_ROOT_INVALID',
    );
    expect(await asyncCodeOf(() => parseRootDocument('nope'))).toBe('FORGE_ROOT_INVALID');
    expect(await asyncCodeOf(() => verifyRootChain([]))).toBe('FORGE_ROOT_INVALID');
  });

  it('walks a rotation chain: v2 needs a threshold of v1 keys and of its own', async () => {
    const root = verifyRootChain([hybridRootDocument(), rootV2()], { clock: clock() });
    expect(root.version).toBe(2);
    expect(root.keys.has(ed3().keyId)).toBe(true);
    expect(root.keys.has(ed1().keyId)).toBe(false);
    // Signed only by the new keys: the old root never approved it.
    expect(
      await asyncCodeOf(() =>
        verifyRootChain([hybridRootDocument(), rootV2([ed3(), ml3()])], { clock: clock() }),
      ),
    ).toBe('FORGE_ROOT_THRESHOLD');
    // Signed only by the old keys: the new keys never accepted it.
    expect(
      await asyncCodeOf(() =>
        verifyRootChain([hybridRootDocument(), rootV2([ed1(), ml1()])], { clock: clock() }),
      ),
    ).toBe('FORGE_ROOT_THRESHOLD');
  });

  it('a rotated root can itself be the pinned root: its predecessor\u2019s signatures are ignored', async () => {
    expect(verifyRootChain([rootV2()], { clock: clock() }).version).toBe(2);
    expect(
      await asyncCodeOf(() => verifyRootChain([rootV2(), hybridRootDocument()], { clock: clock() })),
    ).toBe('FORGE_ROOT_ROLLBACK');
  });

  it('refuses gaps and lower versions in a chain', async () => {
    expect(
      await asyncCodeOf(() =>
        verifyRootChain([hybridRootDocument(), rootV2(undefined, 3)], { clock: clock() }),
      ),
    ).toBe('FORGE_ROOT_CHAIN');
    const v1Again = hybridRootDocument();
    expect(
      await asyncCodeOf(() => verifyRootChain([hybridRootDocument(), v1Again], { clock: clock() })),
    ).toBe('FORGE_ROOT_ROLLBACK');
  });

  it('an expired intermediate root is fine when the newest is current', () => {
    const v1 = hybridRootDocument({ expires: '2029-01-01T00:00:00Z' });
    expect(verifyRootChain([v1, rootV2()], { clock: clock() }).version).toBe(2);
  });

  it('with a store, refuses a root older than one already trusted', async () => {
    const store = new MemoryStore();
    await loadTrustRoot([hybridRootDocument(), rootV2()], { clock: clock(), store });
    expect(await asyncCodeOf(() => loadTrustRoot([hybridRootDocument()], { clock: clock(), store }))).toBe(
      'FORGE_ROOT_ROLLBACK',
    );
  });

  it('a revocation list signed by the root role removes a key; the package it signed is refused', async () => {
    const revoked = withRevocations(
      hybridRootDocument(),
      signRevocationList(
        createRevocationList({ version: 1, revoked: [{ keyid: ed1().keyId, reason: 'lost laptop' }] }),
        [ed2(), ml2()],
      ),
    );
    const root = verifyRootChain([revoked], { clock: clock() });
    expect(root.revoked.has(ed1().keyId)).toBe(true);
    const result = await verifyPackage(signedPackage(), { trustRoot: root, clock: clock() });
    expect(result.code).toBe('FORGE_PKG_KEY_REVOKED');
    // The other ed25519 key still works.
    const ok = await verifyPackage(signedPackage({}, [ed2(), ml1()]), { trustRoot: root, clock: clock() });
    expect(ok.code).toBe('OK');
  });

  it('a revoked key cannot count toward the list that revokes it, and lists need the root threshold', async () => {
    const list = createRevocationList({ version: 1, revoked: [{ keyid: ed1().keyId }] });
    const selfSigned = withRevocations(hybridRootDocument(), signRevocationList(list, [ed1(), ml1()]));
    expect(await asyncCodeOf(() => verifyRootChain([selfSigned], { clock: clock() }))).toBe(
      'FORGE_REVOCATION_INVALID',
    );
    const foreign = withRevocations(
      hybridRootDocument(),
      signRevocationList(list, [key('ed25519', 'stranger'), ml1()]),
    );
    expect(await asyncCodeOf(() => verifyRootChain([foreign], { clock: clock() }))).toBe(
      'FORGE_REVOCATION_INVALID',
    );
  });

  it('with a store, refuses an older revocation list (that would un-revoke keys)', async () => {
    const store = new MemoryStore();
    const list = (version: number) =>
      signRevocationList(createRevocationList({ version, revoked: [{ keyid: ed1().keyId }] }), [
        ed2(),
        ml2(),
      ]);
    await loadTrustRoot([withRevocations(hybridRootDocument(), list(2))], { clock: clock(), store });
    expect(
      await asyncCodeOf(() =>
        loadTrustRoot([withRevocations(hybridRootDocument(), list(1))], { clock: clock(), store }),
      ),
    ).toBe('FORGE_REVOCATION_ROLLBACK');
    expect(await asyncCodeOf(() => loadTrustRoot([hybridRootDocument()], { clock: clock(), store }))).toBe(
      'FORGE_REVOCATION_ROLLBACK',
    );
  });

  it('the clock decides expiry', () => {
    const c = new ManualClock(NOW);
    expect(verifyRootChain([hybridRootDocument()], { clock: c }).expires).toBe(
      Date.parse('2031-01-01T00:00:00Z'),
    );
  });
});
