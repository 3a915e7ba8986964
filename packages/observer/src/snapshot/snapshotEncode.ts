import { createHash } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { ForgeError } from '@forgeone/common';
import { canonicalJsonBytes, type PrivateKey } from '@forgeone/crypto';
import {
  SNAPSHOT_FORMAT_VERSION,
  SNAPSHOT_MAX_PAGES,
  SNAPSHOT_PAGE_BYTES,
  type SnapshotChunk,
  type SnapshotContext,
  type SnapshotManifest,
} from './snapshotContext';
import { signatureTrailer, signSnapshotId } from './snapshotSign';

/** `FSNAP\0`, then the format version (big-endian u16). */
export const SNAPSHOT_MAGIC = Uint8Array.from([
  0x46,
  0x53,
  0x4e,
  0x41,
  0x50,
  0x00,
  0x00,
  SNAPSHOT_FORMAT_VERSION,
]);
/** Magic (8), the id (SHA-256 of the manifest, 32), the manifest's length (u32 LE, 4). */
export const SNAPSHOT_HEADER_BYTES = 44;

export interface EncodeSnapshotOptions {
  /**
   * How pages are stored: `none` (the default) keeps them as they are, which is as fast as
   * copying them; `deflate` compresses each one (smaller files, several times slower to write).
   * Either way all-zero pages are left out and pages with the same contents are stored once.
   */
  readonly compression?: 'none' | 'deflate';
  /** Signs the snapshot's id with this kernel key (see signSnapshotFile for signing later). */
  readonly sign?: PrivateKey;
}

/** A snapshot as a `.fsnap` file's bytes, and its id (lower-case hex SHA-256 of its manifest). */
export interface EncodedSnapshot {
  readonly id: string;
  readonly bytes: Uint8Array;
  readonly manifest: SnapshotManifest;
}

const ZERO_PAGE = Buffer.alloc(SNAPSHOT_PAGE_BYTES);

/**
 * Encodes a container's snapshot: its context and its linear memory (`memory`, read once here,
 * so the guest must not run meanwhile). The file is content-addressed: its id is the SHA-256 of
 * the manifest, which holds the SHA-256 of every stored page.
 */
export function encodeSnapshot(
  context: SnapshotContext,
  memory: Uint8Array,
  options: EncodeSnapshotOptions = {},
): EncodedSnapshot {
  if (
    memory.byteLength % SNAPSHOT_PAGE_BYTES !== 0 ||
    memory.byteLength / SNAPSHOT_PAGE_BYTES > SNAPSHOT_MAX_PAGES
  )
    throw new ForgeError(
      'FORGE_SNAPSHOT_UNSUPPORTED',
      `a memory of ${memory.byteLength} bytes is not a whole number of 64 KiB pages up to 4 GiB`,
      { details: { what: 'memory' } },
    );
  const deflate = options.compression === 'deflate';
  const pageCount = memory.byteLength / SNAPSHOT_PAGE_BYTES;
  const pages: number[] = new Array<number>(pageCount);
  const chunks: SnapshotChunk[] = [];
  const stored: Uint8Array[] = [];
  const byDigest = new Map<string, number>();
  for (let page = 0; page < pageCount; page += 1) {
    const start = memory.byteOffset + page * SNAPSHOT_PAGE_BYTES;
    const view = Buffer.from(memory.buffer, start, SNAPSHOT_PAGE_BYTES);
    // memcmp against a zero page: the cheapest way to skip what the guest never wrote.
    if (ZERO_PAGE.equals(view)) {
      pages[page] = -1;
      continue;
    }
    const sha256 = createHash('sha256').update(view).digest('hex');
    let chunk = byDigest.get(sha256);
    if (chunk === undefined) {
      chunk = chunks.length;
      byDigest.set(sha256, chunk);
      const packed = deflate ? deflateRawSync(view, { level: 1 }) : undefined;
      // A page deflate does not shrink is kept raw.
      const body = packed !== undefined && packed.byteLength < SNAPSHOT_PAGE_BYTES ? packed : view;
      chunks.push(
        body === view
          ? { sha256, encoding: 'raw', length: body.byteLength }
          : {
              sha256,
              encoding: 'deflate',
              length: body.byteLength,
              packed: createHash('sha256').update(body).digest('hex'),
            },
      );
      stored.push(body);
    }
    pages[page] = chunk;
  }
  const manifest: SnapshotManifest = {
    format: SNAPSHOT_FORMAT_VERSION,
    context,
    memory: { byteLength: memory.byteLength, pages },
    chunks,
  };
  const manifestBytes = canonicalJsonBytes(manifest);
  const idBytes = createHash('sha256').update(manifestBytes).digest();
  const id = idBytes.toString('hex');
  const trailer =
    options.sign === undefined ? new Uint8Array(0) : signatureTrailer(signSnapshotId(id, options.sign));
  const blobBytes = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(
    SNAPSHOT_HEADER_BYTES + manifestBytes.byteLength + blobBytes + trailer.byteLength,
  );
  out.set(SNAPSHOT_MAGIC, 0);
  out.set(idBytes, 8);
  new DataView(out.buffer).setUint32(40, manifestBytes.byteLength, true);
  out.set(manifestBytes, SNAPSHOT_HEADER_BYTES);
  let at = SNAPSHOT_HEADER_BYTES + manifestBytes.byteLength;
  for (const body of stored) {
    out.set(body, at);
    at += body.byteLength;
  }
  out.set(trailer, at);
  return { id, bytes: out, manifest };
}
