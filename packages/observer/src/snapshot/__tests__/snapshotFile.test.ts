import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { emptyExecutionDna, isForgeError } from '@forgeone/common';
import { generateKeyPair } from '@forgeone/crypto';
import {
  decodeSnapshot,
  encodeSnapshot,
  signSnapshot,
  SNAPSHOT_PAGE_BYTES,
  type SnapshotContext,
} from '../../index';

const PAGE = SNAPSHOT_PAGE_BYTES;

function context(overrides: Partial<SnapshotContext> = {}): SnapshotContext {
  return {
    module: { sha256: 'ab'.repeat(32), name: 'svc.wasm', version: '1.2.3' },
    containerId: 'ctr_snap',
    capturedAt: 1_700_000_000_000,
    globals: [
      { index: 0, type: 'i32', bits: '0000002a' },
      { index: 3, type: 'i64', bits: 'fffffffffffffffb' },
    ],
    host: {
      wasi: {
        fds: [
          { kind: 'stdio', stream: 0, fd: 0, rightsBase: '2', rightsInheriting: '0', flags: 0 },
          { kind: 'preopen', name: '/data', fd: 3, rightsBase: '123', rightsInheriting: '456', flags: 0 },
        ],
        stdinOffset: 0,
      },
      dna: emptyExecutionDna('ctr_snap'),
      traceSeq: 7,
      kv: { namespace: 'app' },
    },
    ...overrides,
  };
}

/** Memory of `pages` pages, each all zero, a repeated pattern or random bytes. */
const memoryArb = fc
  .array(
    fc.oneof(fc.constant('zero' as const), fc.constant('same' as const), fc.integer({ min: 1, max: 255 })),
    {
      maxLength: 5,
    },
  )
  .map((kinds) => {
    const memory = new Uint8Array(kinds.length * PAGE);
    kinds.forEach((kind, page) => {
      if (kind === 'zero') return;
      const view = memory.subarray(page * PAGE, (page + 1) * PAGE);
      if (kind === 'same') view.fill(0x5a);
      else for (let i = 0; i < PAGE; i += 97) view[i] = (kind * (i + 1)) & 0xff;
    });
    return memory;
  });

function roundTrip(memory: Uint8Array, decoded: ReturnType<typeof decodeSnapshot>): Uint8Array {
  const out = new Uint8Array(decoded.memoryByteLength).fill(0xee);
  decoded.copyMemoryInto(out);
  expect(Buffer.compare(out, memory)).toBe(0);
  return out;
}

describe('.fsnap files', () => {
  it('round-trips memory and context, skips zero pages and stores equal pages once', () => {
    const memory = new Uint8Array(4 * PAGE);
    memory.fill(1, 0, PAGE);
    memory.fill(1, 2 * PAGE, 3 * PAGE); // the same contents as page 0
    memory[3 * PAGE + 5] = 9;
    const encoded = encodeSnapshot(context(), memory);
    expect(encoded.manifest.memory.pages).toEqual([0, -1, 0, 1]);
    expect(encoded.manifest.chunks).toHaveLength(2);
    expect(encoded.bytes.byteLength).toBeLessThan(2 * PAGE + 4096);
    const decoded = decodeSnapshot(encoded.bytes);
    expect(decoded.id).toBe(encoded.id);
    expect(decoded.context).toEqual(context());
    expect(decoded.regions().map((r) => r.offset)).toEqual([0, 2 * PAGE, 3 * PAGE]);
    roundTrip(memory, decoded);
  });

  it('is content-addressed: the same state gives the same id, another state another', () => {
    const memory = new Uint8Array(PAGE).fill(3);
    expect(encodeSnapshot(context(), memory).id).toBe(encodeSnapshot(context(), memory).id);
    expect(encodeSnapshot(context({ containerId: 'other' }), memory).id).not.toBe(
      encodeSnapshot(context(), memory).id,
    );
  });

  it('deflates pages when asked, and reads them back', () => {
    const memory = new Uint8Array(2 * PAGE).fill(7);
    const encoded = encodeSnapshot(context(), memory, { compression: 'deflate' });
    expect(encoded.manifest.chunks[0]).toMatchObject({ encoding: 'deflate' });
    expect(encoded.bytes.byteLength).toBeLessThan(PAGE / 8);
    roundTrip(memory, decodeSnapshot(encoded.bytes));
  });

  it('verifies a signature by the given key, and refuses another key, no signature, a signature added twice', () => {
    const key = generateKeyPair('ed25519');
    const stranger = generateKeyPair('ed25519');
    const memory = new Uint8Array(PAGE).fill(1);
    const signed = encodeSnapshot(context(), memory, { sign: key });
    expect(decodeSnapshot(signed.bytes, { key: key.publicKey }).signature).toMatchObject({
      keyId: key.keyId,
      verified: true,
    });
    expect(decodeSnapshot(signed.bytes).signature?.verified).toBe(false);
    expect(() => decodeSnapshot(signed.bytes, { key: stranger.publicKey })).toThrow(
      expect.objectContaining({ code: 'FORGE_SNAPSHOT_SIGNATURE' }),
    );
    const unsigned = encodeSnapshot(context(), memory);
    expect(() => decodeSnapshot(unsigned.bytes, { key: key.publicKey })).toThrow(
      expect.objectContaining({ code: 'FORGE_SNAPSHOT_UNSIGNED' }),
    );
    const later = signSnapshot(unsigned.bytes, key);
    expect(decodeSnapshot(later, { key: key.publicKey }).id).toBe(unsigned.id);
    expect(() => signSnapshot(later, key)).toThrow(
      expect.objectContaining({ code: 'FORGE_SNAPSHOT_INVALID' }),
    );
  });

  it('refuses a memory over the limit, a truncated file, a foreign file', () => {
    const encoded = encodeSnapshot(context(), new Uint8Array(3 * PAGE).fill(2));
    expect(() => decodeSnapshot(encoded.bytes, { maxMemoryBytes: 2 * PAGE })).toThrow(
      expect.objectContaining({ code: 'FORGE_SNAPSHOT_LIMIT' }),
    );
    expect(() => decodeSnapshot(encoded.bytes.subarray(0, encoded.bytes.byteLength - 1))).toThrow(
      expect.objectContaining({ code: 'FORGE_SNAPSHOT_INVALID' }),
    );
    expect(() => decodeSnapshot(new TextEncoder().encode('{"kind":"header"}\n'))).toThrow(
      expect.objectContaining({ code: 'FORGE_SNAPSHOT_INVALID' }),
    );
  });

  it('property: encode then decode gives back the memory and context', () => {
    fc.assert(
      fc.property(memoryArb, fc.boolean(), (memory, deflate) => {
        const encoded = encodeSnapshot(context(), memory, deflate ? { compression: 'deflate' } : {});
        const decoded = decodeSnapshot(encoded.bytes);
        expect(decoded.context).toEqual(context());
        roundTrip(memory, decoded);
      }),
      { numRuns: 40 },
    );
  });

  const key = generateKeyPair('ed25519');
  it('property: any change of any byte, any cut or any byte added is refused with a snapshot code', () => {
    fc.assert(
      fc.property(
        memoryArb,
        fc.boolean(),
        fc.boolean(),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 255 }),
        fc.constantFrom('flip', 'cut', 'append'),
        (memory, deflate, sign, where, xor, how) => {
          const encoded = encodeSnapshot(context(), memory, {
            ...(deflate && { compression: 'deflate' as const }),
            ...(sign && { sign: key }),
          });
          const bytes = encoded.bytes.slice();
          const at = Math.min(bytes.byteLength - 1, Math.floor(where * bytes.byteLength));
          let changed: Uint8Array;
          if (how === 'flip') {
            bytes[at] = bytes[at]! ^ xor;
            changed = bytes;
          } else if (how === 'cut') changed = bytes.subarray(0, at);
          else changed = Buffer.concat([bytes, Uint8Array.of(xor)]);
          let error: unknown;
          try {
            decodeSnapshot(changed, sign ? { key: key.publicKey } : {});
          } catch (caught) {
            error = caught;
          }
          expect(isForgeError(error) && error.code.startsWith('FORGE_SNAPSHOT_')).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
