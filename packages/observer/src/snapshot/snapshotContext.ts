import { ExecutionDnaSchema } from '@forgeone/common';
import { z } from 'zod';

/** Linear memory is stored by pages of this size (the WebAssembly page): all-zero pages are left out. */
export const SNAPSHOT_PAGE_BYTES = 65_536;
/** The most pages a snapshot may hold: a 32-bit memory's 4 GiB. */
export const SNAPSHOT_MAX_PAGES = 65_536;
/** The version of the `.fsnap` format this code writes and reads. */
export const SNAPSHOT_FORMAT_VERSION = 1;

const hex = (length: number) => z.string().regex(new RegExp(`^[0-9a-f]{${length}}$`));
const u32 = z.number().int().min(0).max(0xffff_ffff);
/** Rights and flags of a descriptor, as decimal strings (64-bit). */
const u64Text = z.string().regex(/^(0|[1-9][0-9]{0,19})$/);

/** A mutable global: its index in the module and its value's bits, as lower-case hex (i32/f32: 8 digits, i64/f64: 16). */
export const SnapshotGlobalSchema = z
  .object({
    index: u32,
    type: z.enum(['i32', 'i64', 'f32', 'f64']),
    bits: z.string().regex(/^([0-9a-f]{8}|[0-9a-f]{16})$/),
  })
  .strict()
  .refine((g) => g.bits.length === (g.type === 'i32' || g.type === 'f32' ? 8 : 16), {
    message: 'the value does not have the width of its type',
  });
export type SnapshotGlobal = z.output<typeof SnapshotGlobalSchema>;

const fdCommon = {
  fd: u32,
  rightsBase: u64Text,
  rightsInheriting: u64Text,
  flags: z.number().int().min(0).max(0xffff),
};

/** One WASI descriptor: stdio (wherever renumbered to) or a preopened directory (matched by its name on restore). */
export const SnapshotFdSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('stdio'),
      stream: z.union([z.literal(0), z.literal(1), z.literal(2)]),
      ...fdCommon,
    })
    .strict(),
  z.object({ kind: z.literal('preopen'), name: z.string().max(4096), ...fdCommon }).strict(),
]);
export type SnapshotFd = z.output<typeof SnapshotFdSchema>;

/** The host-side state that belongs to a container. */
export const SnapshotHostStateSchema = z
  .object({
    /** The WASI descriptor table and how much of stdin was read; null for a guest without WASI. */
    wasi: z
      .object({
        fds: z.array(SnapshotFdSchema).max(65_536),
        stdinOffset: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
      })
      .strict()
      .nullable(),
    dna: ExecutionDnaSchema,
    /** The sequence number the next traced call gets. */
    traceSeq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    /** The kv namespace the container had (its entries live in the store, not in the snapshot). */
    kv: z
      .object({ namespace: z.string().max(64) })
      .strict()
      .nullable(),
  })
  .strict();
export type SnapshotHostState = z.output<typeof SnapshotHostStateSchema>;

/** What a snapshot is of and what it holds besides memory: the `SnapshotContext` of the manifest. */
export const SnapshotContextSchema = z
  .object({
    module: z
      .object({
        /** SHA-256 of the module as given (CompiledModule.sha256). */
        sha256: hex(64),
        name: z.string().max(1024),
        version: z.string().max(256).nullable(),
      })
      .strict(),
    containerId: z.string().max(256),
    /** When it was captured, ms since the epoch. */
    capturedAt: z.number().nonnegative(),
    globals: z.array(SnapshotGlobalSchema).max(1_000_000),
    host: SnapshotHostStateSchema,
  })
  .strict();
export type SnapshotContext = z.output<typeof SnapshotContextSchema>;

/** A stored chunk: one page's contents, by its SHA-256 (pages with the same contents share it). */
export const SnapshotChunkSchema = z
  .object({
    sha256: hex(64),
    encoding: z.enum(['raw', 'deflate']),
    /** Bytes it takes in the file. */
    length: z
      .number()
      .int()
      .min(1)
      .max(SNAPSHOT_PAGE_BYTES + 1024),
    /**
     * SHA-256 of the deflated bytes as stored (deflate only): a deflate stream can end in padding
     * bits that inflate ignores, so the page's digest alone would miss an edit there.
     */
    packed: hex(64).optional(),
  })
  .strict()
  .refine((c) => (c.encoding === 'deflate') === (c.packed !== undefined), {
    message: 'a deflated chunk, and only one, has the digest of its stored bytes',
  });
export type SnapshotChunk = z.output<typeof SnapshotChunkSchema>;

/** The manifest of a `.fsnap` file: its context, the memory's page map and its chunks. */
export const SnapshotManifestSchema = z
  .object({
    format: z.literal(SNAPSHOT_FORMAT_VERSION),
    context: SnapshotContextSchema,
    memory: z
      .object({
        byteLength: z
          .number()
          .int()
          .nonnegative()
          .max(SNAPSHOT_MAX_PAGES * SNAPSHOT_PAGE_BYTES)
          .refine((n) => n % SNAPSHOT_PAGE_BYTES === 0, { message: 'not a whole number of pages' }),
        /** Per page, the chunk holding it, or -1 for an all-zero page. */
        pages: z.array(z.number().int().min(-1)).max(SNAPSHOT_MAX_PAGES),
      })
      .strict(),
    chunks: z.array(SnapshotChunkSchema).max(SNAPSHOT_MAX_PAGES),
  })
  .strict();
export type SnapshotManifest = z.output<typeof SnapshotManifestSchema>;

/**
 * A copy of a region of a guest's linear memory, [offset, offset + length): what a snapshot
 * restores page by page, and what a forensic replay reads at a stop point (one type for both).
 */
export interface MemoryRegion {
  readonly offset: number;
  /** `bytes.length`. */
  readonly length: number;
  readonly bytes: Uint8Array;
}

/** A snapshot's signature by a kernel key, over its id. */
export interface SnapshotSignature {
  readonly algorithm: string;
  readonly keyId: string;
  /** Base64. */
  readonly signature: string;
}
