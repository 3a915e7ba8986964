import { createHash } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { ForgeError } from '@forgeone/common';
import {
  isCanonicalJson,
  parseJson,
  type AlgorithmRegistry,
  type PrivateKey,
  type PublicKey,
} from '@forgeone/crypto';
import { z } from 'zod';
import {
  SNAPSHOT_PAGE_BYTES,
  SnapshotManifestSchema,
  type MemoryRegion,
  type SnapshotContext,
  type SnapshotManifest,
  type SnapshotSignature,
} from './snapshotContext';
import { SNAPSHOT_HEADER_BYTES, SNAPSHOT_MAGIC } from './snapshotEncode';
import {
  MAX_SIGNATURE_BYTES,
  SIGNATURE_TRAILER_MAGIC,
  signatureTrailer,
  signSnapshotId,
  verifySnapshotSignature,
} from './snapshotSign';

/** The largest manifest read (a 4 GiB memory's page map is well under it). */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

const SignatureSchema = z
  .object({
    algorithm: z.string().max(64),
    keyId: z.string().regex(/^[0-9a-f]{64}$/),
    signature: z.string().max(4096),
  })
  .strict();

export interface DecodeSnapshotOptions {
  /** The kernel key it must be signed by: without a valid signature by it, it is refused. */
  readonly key?: PublicKey;
  readonly registry?: AlgorithmRegistry;
  /** Refuses (FORGE_SNAPSHOT_LIMIT) a memory larger than this many bytes. */
  readonly maxMemoryBytes?: number;
}

/** A snapshot file checked end to end: every digest matched, the signature checked when a key was given. */
export interface DecodedSnapshot {
  readonly id: string;
  readonly manifest: SnapshotManifest;
  readonly context: SnapshotContext;
  readonly memoryByteLength: number;
  /** The signature, if any; `verified` says whether it was checked against a given key. */
  readonly signature?: SnapshotSignature & { readonly verified: boolean };
  /** Bytes the file takes. */
  readonly fileBytes: number;
  /** Writes the memory into `target` (at least memoryByteLength long): every page, zero pages zeroed. */
  copyMemoryInto(target: Uint8Array): void;
  /** The pages that are not all zero, in order, as regions of the memory (views: do not modify). */
  regions(): MemoryRegion[];
}

function invalid(message: string, details: Record<string, string | number> = {}): ForgeError {
  return new ForgeError(
    'FORGE_SNAPSHOT_INVALID',
    `snapshot: ${message}; the file is not a snapshot, or was cut short or edited`,
    {
      details,
    },
  );
}

/** The signature at the end of a file, if there is one; `end` is where the chunks must stop. */
function readTrailer(bytes: Uint8Array, blobsEnd: number): SnapshotSignature | undefined {
  if (bytes.byteLength === blobsEnd) return undefined;
  const rest = bytes.byteLength - blobsEnd;
  if (rest < 9 || !SIGNATURE_TRAILER_MAGIC.every((b, i) => bytes[bytes.byteLength - 4 + i] === b))
    throw invalid(`${rest} bytes past its last page that are not a signature`);
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.byteLength - 8, true);
  if (length !== rest - 8 || length > MAX_SIGNATURE_BYTES)
    throw invalid('its signature has the wrong length');
  let parsed: unknown;
  try {
    parsed = parseJson(
      bytes.subarray(blobsEnd, blobsEnd + length),
      MAX_SIGNATURE_BYTES,
      'snapshot signature',
    );
  } catch (error) {
    throw invalid('its signature is not JSON', { cause: String((error as Error).message) });
  }
  const signature = SignatureSchema.safeParse(parsed);
  if (!signature.success) throw invalid('its signature is malformed');
  // Written in one form only: lenient base64 or JSON would let an edit through unseen.
  const { algorithm, keyId, signature: value } = signature.data;
  const exact = JSON.stringify({ algorithm, keyId, signature: value });
  if (
    Buffer.from(bytes.subarray(blobsEnd, blobsEnd + length)).toString('utf8') !== exact ||
    Buffer.from(value, 'base64').toString('base64') !== value
  )
    throw invalid('its signature is not in canonical form');
  return signature.data;
}

/**
 * Reads a `.fsnap` file as hostile input: header, bounds on every length and count, the
 * manifest's schema and canonical form, its SHA-256 against the id in the header, each page's
 * SHA-256, the signature. Any failure throws (FORGE_SNAPSHOT_INVALID, _LIMIT, _UNSIGNED,
 * _SIGNATURE) before anything can be restored from it.
 */
export function decodeSnapshot(bytes: Uint8Array, options: DecodeSnapshotOptions = {}): DecodedSnapshot {
  if (bytes.byteLength < SNAPSHOT_HEADER_BYTES)
    throw invalid(`it is ${bytes.byteLength} bytes, shorter than a header`);
  if (!SNAPSHOT_MAGIC.subarray(0, 6).every((b, i) => bytes[i] === b))
    throw invalid('it does not start with FSNAP');
  if (!SNAPSHOT_MAGIC.every((b, i) => bytes[i] === b))
    throw invalid(`it is of format ${bytes[6]! * 256 + bytes[7]!}, which this version does not read`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const id = Buffer.from(bytes.subarray(8, 40)).toString('hex');
  const manifestLength = view.getUint32(40, true);
  const manifestEnd = SNAPSHOT_HEADER_BYTES + manifestLength;
  if (manifestLength > MAX_MANIFEST_BYTES || manifestEnd > bytes.byteLength)
    throw invalid(`its manifest length ${manifestLength} runs past the file`);
  const manifestBytes = bytes.subarray(SNAPSHOT_HEADER_BYTES, manifestEnd);
  if (createHash('sha256').update(manifestBytes).digest('hex') !== id)
    throw invalid('its manifest does not match its id');
  let parsed: unknown;
  try {
    parsed = parseJson(manifestBytes, MAX_MANIFEST_BYTES, 'snapshot manifest');
  } catch {
    throw invalid('its manifest is not JSON');
  }
  const result = SnapshotManifestSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw invalid(
      `its manifest is malformed at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? ''}`,
    );
  }
  const manifest = result.data;
  if (!isCanonicalJson(manifestBytes, manifest)) throw invalid('its manifest is not in canonical form');
  const { byteLength, pages } = manifest.memory;
  if (pages.length !== byteLength / SNAPSHOT_PAGE_BYTES)
    throw invalid('its page map does not cover its memory');
  if (options.maxMemoryBytes !== undefined && byteLength > options.maxMemoryBytes)
    throw new ForgeError(
      'FORGE_SNAPSHOT_LIMIT',
      `the snapshot holds ${byteLength} bytes of memory, over the ${options.maxMemoryBytes} the limits allow; raise the memory limit or use another snapshot`,
      { details: { limit: 'memoryPages', max: options.maxMemoryBytes, actual: byteLength } },
    );
  const used = new Uint8Array(manifest.chunks.length);
  for (const chunk of pages) {
    if (chunk >= manifest.chunks.length)
      throw invalid(`a page names chunk ${chunk}, past its ${manifest.chunks.length}`);
    if (chunk >= 0) used[chunk] = 1;
  }
  if (used.includes(0)) throw invalid('it stores a chunk no page uses');
  // Each chunk's contents, checked against its digest (a deflated one inflated first).
  const contents: Uint8Array[] = [];
  const digests = new Set<string>();
  let at = manifestEnd;
  for (const [index, chunk] of manifest.chunks.entries()) {
    if (digests.has(chunk.sha256)) throw invalid(`chunk ${index} repeats another`);
    digests.add(chunk.sha256);
    if (at + chunk.length > bytes.byteLength) throw invalid(`chunk ${index} runs past the end of the file`);
    const stored = bytes.subarray(at, at + chunk.length);
    at += chunk.length;
    let page: Uint8Array = stored;
    if (chunk.encoding === 'deflate') {
      if (createHash('sha256').update(stored).digest('hex') !== chunk.packed)
        throw invalid(`chunk ${index} does not match its digest`, { chunk: index });
      try {
        page = inflateRawSync(stored, { maxOutputLength: SNAPSHOT_PAGE_BYTES });
      } catch {
        throw invalid(`chunk ${index} does not inflate to a page`, { chunk: index });
      }
    }
    if (page.byteLength !== SNAPSHOT_PAGE_BYTES)
      throw invalid(`chunk ${index} is not one page`, { chunk: index });
    if (createHash('sha256').update(page).digest('hex') !== chunk.sha256)
      throw invalid(`chunk ${index} does not match its digest`, { chunk: index });
    contents.push(page);
  }
  const signature = readTrailer(bytes, at);
  let verified = false;
  if (options.key !== undefined) {
    if (signature === undefined)
      throw new ForgeError(
        'FORGE_SNAPSHOT_UNSIGNED',
        'the snapshot is not signed, and a signature by the given key is required',
        {
          details: { keyId: options.key.keyId },
        },
      );
    if (signature.keyId !== options.key.keyId)
      throw new ForgeError(
        'FORGE_SNAPSHOT_SIGNATURE',
        `the snapshot is signed by key ${signature.keyId.slice(0, 16)}…, not by the given key ${options.key.keyId.slice(0, 16)}…`,
        { details: { keyId: signature.keyId } },
      );
    if (!verifySnapshotSignature(id, signature, options.key, options.registry))
      throw new ForgeError(
        'FORGE_SNAPSHOT_SIGNATURE',
        'the snapshot signature does not verify: the file was changed after it was signed, or the signature was forged',
        { details: { keyId: signature.keyId } },
      );
    verified = true;
  }
  return {
    id,
    manifest,
    context: manifest.context,
    memoryByteLength: byteLength,
    ...(signature && { signature: { ...signature, verified } }),
    fileBytes: bytes.byteLength,
    copyMemoryInto(target: Uint8Array): void {
      if (target.byteLength < byteLength)
        throw new RangeError('the target is smaller than the snapshot memory');
      for (let page = 0; page < pages.length; page += 1) {
        const chunk = pages[page]!;
        const offset = page * SNAPSHOT_PAGE_BYTES;
        if (chunk < 0) target.fill(0, offset, offset + SNAPSHOT_PAGE_BYTES);
        else target.set(contents[chunk]!, offset);
      }
    },
    regions(): MemoryRegion[] {
      const regions: MemoryRegion[] = [];
      pages.forEach((chunk, page) => {
        if (chunk >= 0) {
          const bytes = contents[chunk]!;
          regions.push({ offset: page * SNAPSHOT_PAGE_BYTES, length: bytes.length, bytes });
        }
      });
      return regions;
    },
  };
}

/**
 * Adds a signature by `key` to an unsigned snapshot file (decoded first: a file that does not
 * decode, or is signed already, is refused). The id does not change.
 */
export function signSnapshot(bytes: Uint8Array, key: PrivateKey): Uint8Array {
  const decoded = decodeSnapshot(bytes);
  if (decoded.signature !== undefined)
    throw new ForgeError(
      'FORGE_SNAPSHOT_INVALID',
      `the snapshot is already signed (by key ${decoded.signature.keyId.slice(0, 16)}…)`,
      {
        details: { keyId: decoded.signature.keyId },
      },
    );
  const trailer = signatureTrailer(signSnapshotId(decoded.id, key));
  const out = new Uint8Array(bytes.byteLength + trailer.byteLength);
  out.set(bytes, 0);
  out.set(trailer, bytes.byteLength);
  return out;
}
