import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock, isForgeError } from '@forgeone/common';
import { canonicalJson } from '@forgeone/crypto';
import { boot } from '../../index';
import { NOW, keyA, keyB, makeRoot, revoke, selfTestSpy } from './rootFixtures';

const dir = mkdtempSync(join(tmpdir(), 'forge-boot-prop-'));
const ROOT_CODES = new Set([
  'FORGE_ROOT_INVALID',
  'FORGE_ROOT_BAD_SIGNATURE',
  'FORGE_ROOT_THRESHOLD',
  'FORGE_ROOT_EXPIRED',
  'FORGE_INVALID_INPUT',
]);

/** Boots on `bytes` as a root.json file; the outcome, or the refusal's code. Anything else is thrown. */
async function bootOn(bytes: Uint8Array, name: string) {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  const selfTest = selfTestSpy();
  try {
    const context = await boot({ clock: new ManualClock(NOW), rootPath: path, selfTest: selfTest.run });
    return { context, selfTestRan: selfTest.calls.length > 0 };
  } catch (error) {
    if (!isForgeError(error)) throw error;
    return { code: error.code, line: error.toLine(), selfTestRan: selfTest.calls.length > 0 };
  }
}

/** Whether `bytes` parse as JSON equal to `original` (a flip that changed nothing a verifier reads). */
function sameDocument(bytes: Uint8Array, original: unknown): boolean {
  try {
    return (
      canonicalJson(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))) ===
      canonicalJson(original)
    );
  } catch {
    return false;
  }
}

const flip = (bytes: Uint8Array, at: number, mask: number) => {
  const out = Uint8Array.from(bytes);
  out[at] = (out[at] ?? 0) ^ mask;
  return out;
};

describe('boot on a damaged root (property)', () => {
  it('any byte flip in a signed root refuses the boot with a root code, never crashes', async () => {
    const root = makeRoot({ signers: [keyA, keyB], need: 2 });
    const bytes = new TextEncoder().encode(canonicalJson(root));
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: bytes.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (at, mask) => {
          const damaged = flip(bytes, at, mask);
          const outcome = await bootOn(damaged, `flip-${n++}.json`);
          if (sameDocument(damaged, root)) return; // nothing a verifier reads changed
          expect(outcome.code, `flip at ${at} booted`).toBeDefined();
          expect(ROOT_CODES.has(outcome.code!), outcome.line).toBe(true);
          expect(outcome.line).not.toContain('\n');
          expect(outcome.selfTestRan).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a byte flip in the embedded revocation list never boots on a changed list: refused or unknown', async () => {
    const root = revoke(makeRoot({ signers: [keyA, keyB] }), [keyA], [keyB]);
    const text = canonicalJson(root);
    const bytes = new TextEncoder().encode(text);
    // The list's own bytes (ASCII: offsets in the text are offsets in the bytes).
    const start = text.indexOf('"revocations":') + '"revocations":'.length;
    const end = start + canonicalJson(root.revocations).length - 1;
    expect(start).toBeGreaterThan('"revocations":'.length - 1);
    let unknown = 0;
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: start, max: end }),
        fc.integer({ min: 1, max: 255 }),
        async (at, mask) => {
          const damaged = flip(bytes, at, mask);
          const outcome = await bootOn(damaged, `rflip-${n++}.json`);
          if (sameDocument(damaged, root)) return;
          if (outcome.context !== undefined) {
            expect(outcome.context.revocation.status).toBe('unknown');
            unknown += 1;
          } else {
            expect(outcome.code).toMatch(/^FORGE_(ROOT|BOOT_ROOT)_/);
            expect(outcome.selfTestRan).toBe(false);
          }
        },
      ),
      { numRuns: 200 },
    );
    // Most flips leave valid JSON with a list that no longer verifies: the status is then unknown.
    expect(unknown).toBeGreaterThan(0);
  });
});
