import * as ed from '@noble/ed25519';
import { sha224, sha256, sha384, sha512, sha512_224, sha512_256 } from '@noble/hashes/sha2.js';
import { sha3_224, sha3_256, sha3_384, sha3_512, shake128_32, shake256_64 } from '@noble/hashes/sha3.js';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { describe, expect, it } from 'vitest';
import { isForgeError } from '@forgeone/common';
import {
  defaultAlgorithms,
  exportPrivateKey,
  exportPublicKey,
  importPrivateKey,
  publicKeyFromBytes,
} from '../index';
import { hex, readVectors, toHexUpper, vectorsDir } from './vectors';

const dir = vectorsDir();
if (dir === undefined) {
  console.warn(
    '[crypto conformance] ../shared/vectors not found next to the repository: vector suites SKIPPED',
  );
}
const vectors = dir ?? '';
ed.hashes.sha512 ??= sha512;

interface WycheproofFile<G> {
  numberOfTests: number;
  testGroups: G[];
}
interface WycheproofTest {
  tcId: number;
  comment: string;
  msg: string;
  sig: string;
  result: 'valid' | 'invalid';
  flags: string[];
  ctx?: string;
}

const ed25519 = defaultAlgorithms.get('ed25519');
const ctxOpt = (ctx: string | undefined) => (ctx === undefined ? {} : { context: hex(ctx) });

describe.skipIf(dir === undefined)('RFC 8032 Ed25519 test vectors', () => {
  const cases =
    dir === undefined
      ? []
      : readVectors<
          Array<{ name: string; secretKey: string; publicKey: string; message: string; signature: string }>
        >(vectors, 'rfc8032/ed25519.json');
  it('has the section 7.1 cases', () => expect(cases.length).toBeGreaterThanOrEqual(5));
  it.each(cases.map((c) => [c.name, c] as const))(
    'case %s: keygen, deterministic sign and verify',
    (_name, c) => {
      const keys = ed25519.keygen(hex(c.secretKey));
      expect(Buffer.from(keys.publicKey).toString('hex')).toBe(c.publicKey);
      expect(Buffer.from(ed25519.sign(keys.secretKey, hex(c.message))).toString('hex')).toBe(c.signature);
      expect(ed25519.verify(hex(c.publicKey), hex(c.message), hex(c.signature))).toBe(true);
    },
  );
});

describe.skipIf(dir === undefined)('Wycheproof Ed25519 (strict RFC 8032 verification)', () => {
  type Group = {
    publicKey: { pk: string };
    publicKeyPem: string;
    publicKeyJwk: { x: string };
    tests: WycheproofTest[];
  };
  const file =
    dir === undefined
      ? { numberOfTests: 0, testGroups: [] }
      : readVectors<WycheproofFile<Group>>(vectors, 'wycheproof/ed25519_test.json');
  const cases = file.testGroups.flatMap((g) => g.tests.map((t) => ({ g, t })));

  it('runs all 151 cases, each with the expected result', () => {
    expect(cases).toHaveLength(151);
    const wrong = cases.filter(
      ({ g, t }) => ed25519.verify(hex(g.publicKey.pk), hex(t.msg), hex(t.sig)) !== (t.result === 'valid'),
    );
    expect(wrong.map(({ t }) => `${t.tcId} ${t.comment}`)).toEqual([]);
  });

  it('the node:crypto fast path agrees with noble { zip215: false } on every case', () => {
    const strictNoble = (pk: Uint8Array, msg: Uint8Array, sig: Uint8Array) => {
      try {
        return ed.verify(sig, msg, pk, { zip215: false });
      } catch {
        return false;
      }
    };
    const disagreements = cases.filter(({ g, t }) => {
      const [pk, msg, sig] = [hex(g.publicKey.pk), hex(t.msg), hex(t.sig)];
      return ed25519.verify(pk, msg, sig) !== strictNoble(pk, msg, sig);
    });
    expect(disagreements.map(({ t }) => t.tcId)).toEqual([]);
  });

  it('rejects tcId 151 (non-canonical R, accepted by ZIP-215 verifiers)', () => {
    const found = cases.find(({ t }) => t.tcId === 151);
    expect(found).toBeDefined();
    const { g, t } = found as (typeof cases)[number];
    expect(ed.verify(hex(t.sig), hex(t.msg), hex(g.publicKey.pk))).toBe(true); // ZIP-215 default
    expect(ed25519.verify(hex(g.publicKey.pk), hex(t.msg), hex(t.sig))).toBe(false);
  });

  it('exports the same SPKI PEM and JWK as Wycheproof lists', () => {
    for (const g of file.testGroups) {
      const key = publicKeyFromBytes('ed25519', hex(g.publicKey.pk));
      expect(exportPublicKey(key, 'pem').trim()).toBe(g.publicKeyPem.trim());
      expect(exportPublicKey(key, 'jwk').x).toBe(g.publicKeyJwk.x);
    }
  });
});

describe.skipIf(dir === undefined).each(['44', '65', '87'])('Wycheproof ML-DSA-%s verify', (level) => {
  type Group = { publicKey: string; publicKeyDer: string; tests: WycheproofTest[] };
  const file =
    dir === undefined
      ? { numberOfTests: 0, testGroups: [] }
      : readVectors<WycheproofFile<Group>>(vectors, `wycheproof/mldsa_${level}_verify_test.json`);
  const alg = defaultAlgorithms.get(`ml-dsa-${level}`);

  it('gives the expected result on every case', () => {
    const cases = file.testGroups.flatMap((g) => g.tests.map((t) => ({ g, t })));
    expect(cases).toHaveLength(file.numberOfTests);
    expect(cases.length).toBeGreaterThan(150);
    const wrong = cases.filter(
      ({ g, t }) =>
        alg.verify(hex(g.publicKey), hex(t.msg), hex(t.sig), ctxOpt(t.ctx)) !== (t.result === 'valid'),
    );
    expect(wrong.map(({ t }) => `${t.tcId} ${t.comment}`)).toEqual([]);
  });

  it('encodes SPKI exactly as Wycheproof does', () => {
    const group = file.testGroups.find((g) => g.publicKey.length / 2 === alg.sizes.publicKey);
    expect(group).toBeDefined();
    const key = publicKeyFromBytes(alg.name, hex((group as Group).publicKey));
    expect(Buffer.from(exportPublicKey(key, 'spki')).toString('hex')).toBe((group as Group).publicKeyDer);
  });
});

describe.skipIf(dir === undefined)('Wycheproof ML-DSA-65 sign from seed (deterministic)', () => {
  type Test = WycheproofTest & { mu?: string; rnd?: string };
  type Group = { privateSeed: string; privateKeyPkcs8: string; publicKey: string; tests: Test[] };
  const file =
    dir === undefined
      ? { numberOfTests: 0, testGroups: [] }
      : readVectors<WycheproofFile<Group>>(vectors, 'wycheproof/mldsa_65_sign_seed_test.json');
  const alg = defaultAlgorithms.get('ml-dsa-65');
  const cases = file.testGroups.flatMap((g) => g.tests.map((t) => ({ g, t })));

  it('covers every case', () => expect(cases).toHaveLength(file.numberOfTests));

  it('reproduces every valid signature from the seed, and refuses every invalid input', () => {
    const problems: string[] = [];
    for (const { g, t } of cases) {
      try {
        const keys = alg.keygen(hex(g.privateSeed));
        if (Buffer.from(keys.publicKey).toString('hex') !== g.publicKey)
          throw new Error('public key differs');
        const entropy = t.rnd === undefined ? (false as const) : hex(t.rnd);
        // Cases that give only mu exercise ML-DSA's internal interface, which ForgeOne does not expose.
        const sig =
          t.msg === undefined
            ? ml_dsa65.internal.sign(hex(t.mu as string), keys.secretKey, {
                externalMu: true,
                extraEntropy: entropy,
              })
            : alg.sign(keys.secretKey, hex(t.msg), { ...ctxOpt(t.ctx), extraEntropy: entropy });
        if (t.result !== 'valid') problems.push(`${t.tcId}: signed although ${t.comment}`);
        else if (Buffer.from(sig).toString('hex') !== t.sig) problems.push(`${t.tcId}: signature differs`);
      } catch (error) {
        if (t.result === 'valid') problems.push(`${t.tcId}: ${(error as Error).message}`);
        else if (!isForgeError(error))
          problems.push(`${t.tcId}: refused with a non-ForgeError ${String(error)}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('imports and exports the PKCS#8 seed form', () => {
    const group = file.testGroups.find((g) => g.privateSeed.length === 64) as Group;
    const key = importPrivateKey({ format: 'pkcs8', der: hex(group.privateKeyPkcs8) });
    expect(key.algorithm).toBe('ml-dsa-65');
    expect(Buffer.from(key.publicKey.bytes).toString('hex')).toBe(group.publicKey);
    expect(Buffer.from(exportPrivateKey(key, 'pkcs8')).toString('hex')).toBe(group.privateKeyPkcs8);
  });
});

describe.skipIf(dir === undefined)('ACVP ML-DSA keyGen (FIPS 204)', () => {
  type File = {
    testGroups: Array<{
      parameterSet: string;
      tests: Array<{ tcId: number; seed: string; pk: string; sk: string }>;
    }>;
  };
  const file =
    dir === undefined
      ? { testGroups: [] }
      : readVectors<File>(vectors, 'acvp/ML-DSA-keyGen-FIPS204_internalProjection.json');
  it.each(file.testGroups.map((g) => [g.parameterSet, g] as const))(
    '%s: every seed gives the listed pk and sk',
    (set, group) => {
      const alg = defaultAlgorithms.get(set.toLowerCase());
      expect(group.tests.length).toBeGreaterThan(0);
      for (const t of group.tests) {
        const keys = alg.keygen(hex(t.seed));
        expect(toHexUpper(keys.publicKey), `tcId ${t.tcId}`).toBe(t.pk);
        expect(toHexUpper(keys.secretKey), `tcId ${t.tcId}`).toBe(t.sk);
      }
    },
  );
});

/**
 * HashML-DSA with a hash weaker than the parameter set's security category: noble refuses to
 * build such a verifier (FIPS 204 §5.4 asks for matching strength), and so does ForgeOne.
 */
// ML-DSA-44: SHA3-224, SHA2-224, SHA2-512/224. ML-DSA-65: every 224/256-bit hash and SHAKE-128.
// ML-DSA-87: everything below 512 bits (SHA2-224/256/384, SHA2-512/224, -512/256, SHA3-224/256/384, SHAKE-128).
const REFUSED_BY_DESIGN = [
  24, 25, 29, 46, 48, 49, 50, 51, 54, 55, 56, 58, 78, 79, 80, 82, 83, 84, 86, 87, 88, 89, 90,
];

describe.skipIf(dir === undefined)('ACVP ML-DSA sigVer (FIPS 204)', () => {
  type Test = {
    tcId: number;
    pk: string;
    message?: string;
    mu?: string;
    context?: string;
    hashAlg: string;
    signature: string;
    testPassed: boolean;
    reason: string;
  };
  type Group = {
    tgId: number;
    parameterSet: string;
    signatureInterface: 'external' | 'internal';
    preHash: string;
    externalMu: boolean;
    tests: Test[];
  };
  const file =
    dir === undefined
      ? { testGroups: [] as Group[] }
      : readVectors<{ testGroups: Group[] }>(vectors, 'acvp/ML-DSA-sigVer-FIPS204_internalProjection.json');
  const noble = { 'ML-DSA-44': ml_dsa44, 'ML-DSA-65': ml_dsa65, 'ML-DSA-87': ml_dsa87 } as const;
  const hashes = {
    'SHA2-224': sha224,
    'SHA2-256': sha256,
    'SHA2-384': sha384,
    'SHA2-512': sha512,
    'SHA2-512/224': sha512_224,
    'SHA2-512/256': sha512_256,
    'SHA3-224': sha3_224,
    'SHA3-256': sha3_256,
    'SHA3-384': sha3_384,
    'SHA3-512': sha3_512,
    'SHAKE-128': shake128_32,
    'SHAKE-256': shake256_64,
  } as const;

  it('every case gives the expected result, except those refused by design (listed by tcId)', () => {
    const wrong: string[] = [];
    const refused: number[] = [];
    let pureThroughForgeOne = 0;
    for (const g of file.testGroups) {
      const lib = noble[g.parameterSet as keyof typeof noble];
      const alg = defaultAlgorithms.get(g.parameterSet.toLowerCase());
      for (const t of g.tests) {
        const [pk, sig] = [hex(t.pk), hex(t.signature)];
        let got: boolean;
        if (g.signatureInterface === 'external' && g.preHash === 'pure') {
          got = alg.verify(pk, hex(t.message ?? ''), sig, { context: hex(t.context ?? '') });
          pureThroughForgeOne++;
        } else if (g.signatureInterface === 'external') {
          let verifier;
          try {
            verifier = lib.prehash(hashes[t.hashAlg as keyof typeof hashes]);
          } catch {
            refused.push(t.tcId);
            continue;
          }
          got = verifier.verify(sig, hex(t.message ?? ''), pk, { context: hex(t.context ?? '') });
        } else {
          got = g.externalMu
            ? lib.internal.verify(sig, hex(t.mu ?? ''), pk, { externalMu: true })
            : lib.internal.verify(sig, hex(t.message ?? ''), pk);
        }
        if (got !== t.testPassed) wrong.push(`${t.tcId} (${t.reason})`);
      }
    }
    expect(wrong).toEqual([]);
    expect(pureThroughForgeOne).toBe(45);
    expect(refused.sort((a, b) => a - b)).toEqual(REFUSED_BY_DESIGN);
  });
});

describe.skipIf(dir === undefined)('ACVP SLH-DSA keyGen (FIPS 205)', () => {
  type File = {
    testGroups: Array<{
      parameterSet: string;
      tests: Array<{ tcId: number; skSeed: string; skPrf: string; pkSeed: string; sk: string; pk: string }>;
    }>;
  };
  const file =
    dir === undefined
      ? { testGroups: [] }
      : readVectors<File>(vectors, 'acvp/SLH-DSA-keyGen-FIPS205_internalProjection.json');
  const supported = file.testGroups.filter((g) => defaultAlgorithms.has(g.parameterSet.toLowerCase()));
  it('includes the two registered parameter sets', () => {
    expect(supported.map((g) => g.parameterSet).sort()).toEqual(['SLH-DSA-SHA2-128f', 'SLH-DSA-SHA2-128s']);
  });
  it.each(supported.map((g) => [g.parameterSet, g] as const))(
    '%s: every seed triple gives the listed keys',
    (set, group) => {
      const alg = defaultAlgorithms.get(set.toLowerCase());
      for (const t of group.tests) {
        const keys = alg.keygen(hex(t.skSeed + t.skPrf + t.pkSeed));
        expect(toHexUpper(keys.publicKey), `tcId ${t.tcId}`).toBe(t.pk);
        expect(toHexUpper(keys.secretKey), `tcId ${t.tcId}`).toBe(t.sk);
      }
    },
  );
});
