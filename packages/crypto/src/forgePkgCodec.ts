import { ForgeError, type ForgeErrorCode } from '@forgeone/common';
import { sha256 } from './hash';
import { decodeUtf8, toHex } from './internal/bytes';
import { MAX_ENTRY_NAME_BYTES } from './internal/entryName';
import { signingMessage } from './internal/signatureSet';

/** "FORGEPKG" */
export const FORGEPKG_MAGIC = Uint8Array.from([0x46, 0x4f, 0x52, 0x47, 0x45, 0x50, 0x4b, 0x47]);
export const FORGEPKG_FORMAT_VERSION = 1;
/** Fixed header: magic (8), format version (u16), flags (u16), manifest length (u32), entry count (u32). */
export const FORGEPKG_HEADER_BYTES = 20;

/** Hard limits a package must respect; each is checked before anything of that size is touched. */
export interface ForgePkgLimits {
  readonly maxTotalBytes: number;
  readonly maxManifestBytes: number;
  readonly maxEntries: number;
  readonly maxEntryBytes: number;
  readonly maxSignatures: number;
  readonly maxSignatureBytes: number;
}

export const defaultForgePkgLimits: ForgePkgLimits = {
  maxTotalBytes: 256 * 1024 * 1024,
  maxManifestBytes: 1024 * 1024,
  maxEntries: 10_000,
  maxEntryBytes: 128 * 1024 * 1024,
  maxSignatures: 32,
  maxSignatureBytes: 64 * 1024,
};

export interface PackageEntry {
  readonly name: string;
  readonly data: Uint8Array;
}

export interface PackageSignature {
  readonly algorithm: string;
  /** Lower-case hex key id (32 bytes in the file). */
  readonly keyId: string;
  readonly signature: Uint8Array;
}

/** A structurally sound package. Every byte array is a view into the input; nothing is copied. */
export interface ParsedPackage {
  readonly formatVersion: number;
  readonly manifestBytes: Uint8Array;
  /** Header and manifest: what the signatures cover (through their SHA-256). */
  readonly signedBytes: Uint8Array;
  readonly entries: readonly PackageEntry[];
  readonly signatures: readonly PackageSignature[];
  /** Offset of the signature block: the package without its signatures is `bytes[0, unsignedLength)`. */
  readonly unsignedLength: number;
  readonly totalBytes: number;
}

class Reader {
  offset = 0;
  readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  remaining(): number {
    return this.bytes.length - this.offset;
  }
  need(count: number, what: string): void {
    if (count > this.remaining()) {
      fail(
        'FORGE_PKG_TRUNCATED',
        `the file ends inside ${what} (needs ${count} bytes at offset ${this.offset}, has ${this.remaining()})`,
        this.offset,
      );
    }
  }
  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.offset++);
  }
  u16(what: string): number {
    this.need(2, what);
    const value = this.view.getUint16(this.offset);
    this.offset += 2;
    return value;
  }
  u32(what: string): number {
    this.need(4, what);
    const value = this.view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }
  /** A u64 length; values past 2^53 come back as Infinity, which every limit refuses. */
  u64(what: string): number {
    this.need(8, what);
    const value = this.view.getBigUint64(this.offset);
    this.offset += 8;
    return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(value);
  }
  /** A view of the next `count` bytes; `count` has already been checked against a limit. */
  take(count: number, what: string): Uint8Array {
    this.need(count, what);
    const out = this.bytes.subarray(this.offset, this.offset + count);
    this.offset += count;
    return out;
  }
}

function fail(code: ForgeErrorCode, message: string, offset?: number): never {
  throw new ForgeError(code, message, offset === undefined ? {} : { details: { offset } });
}

function limit(value: number, max: number, what: string, offset: number): void {
  if (value > max)
    fail(
      'FORGE_PKG_LIMIT',
      `${what} is ${Number.isFinite(value) ? value : 'over 2^53'}; the limit is ${max}`,
      offset,
    );
}

/**
 * Parses the ForgePkg framing. Structural problems throw ForgeError: FORGE_PKG_OVERSIZED,
 * FORGE_PKG_MAGIC, FORGE_PKG_FORMAT_VERSION, FORGE_PKG_TRUNCATED, FORGE_PKG_LIMIT,
 * FORGE_PKG_MALFORMED, FORGE_PKG_ENTRY_NAME (not UTF-8), FORGE_PKG_TRAILING_DATA. Every declared
 * length is checked against a limit and the bytes present before use; nothing is allocated from it.
 */
export function parsePackage(
  bytes: Uint8Array,
  limits: ForgePkgLimits = defaultForgePkgLimits,
): ParsedPackage {
  if (!(bytes instanceof Uint8Array)) fail('FORGE_PKG_MALFORMED', 'a package must be given as bytes');
  if (bytes.length > limits.maxTotalBytes) {
    fail('FORGE_PKG_OVERSIZED', `the package is ${bytes.length} bytes; the limit is ${limits.maxTotalBytes}`);
  }
  const r = new Reader(bytes);
  const magicLength = Math.min(bytes.length, FORGEPKG_MAGIC.length);
  for (let i = 0; i < magicLength; i++) {
    if (bytes[i] !== FORGEPKG_MAGIC[i])
      fail('FORGE_PKG_MAGIC', 'not a ForgePkg file (the first bytes are not "FORGEPKG")', 0);
  }
  r.take(FORGEPKG_MAGIC.length, 'the magic bytes');
  const formatVersion = r.u16('the header');
  if (formatVersion !== FORGEPKG_FORMAT_VERSION) {
    fail(
      'FORGE_PKG_FORMAT_VERSION',
      `ForgePkg format version ${formatVersion} is not supported (this ForgeOne reads version ${FORGEPKG_FORMAT_VERSION})`,
      8,
    );
  }
  const flags = r.u16('the header');
  if (flags !== 0) fail('FORGE_PKG_MALFORMED', `reserved header flags are set (0x${flags.toString(16)})`, 10);
  const manifestLength = r.u32('the header');
  const entryCount = r.u32('the header');
  limit(manifestLength, limits.maxManifestBytes, 'the manifest length', 12);
  limit(entryCount, limits.maxEntries, 'the entry count', 16);
  const manifestBytes = r.take(manifestLength, 'the manifest');
  const signedBytes = bytes.subarray(0, r.offset);

  const entries: PackageEntry[] = [];
  for (let i = 0; i < entryCount; i++) {
    const at = r.offset;
    const nameLength = r.u16(`entry ${i}`);
    if (nameLength === 0) fail('FORGE_PKG_MALFORMED', `entry ${i} has an empty name`, at);
    limit(nameLength, MAX_ENTRY_NAME_BYTES, `the name length of entry ${i}`, at);
    const name = decodeUtf8(r.take(nameLength, `the name of entry ${i}`));
    if (name === undefined) fail('FORGE_PKG_ENTRY_NAME', `the name of entry ${i} is not valid UTF-8`, at);
    const sizeAt = r.offset;
    const size = r.u64(`entry ${i} (${name})`);
    limit(size, limits.maxEntryBytes, `the size of entry ${name}`, sizeAt);
    entries.push({ name, data: r.take(size, `the content of entry ${name}`) });
  }

  const unsignedLength = r.offset;
  const signatureCount = r.u16('the signature block');
  limit(signatureCount, limits.maxSignatures, 'the signature count', unsignedLength);
  const signatures: PackageSignature[] = [];
  for (let i = 0; i < signatureCount; i++) {
    const at = r.offset;
    const algorithmLength = r.u8(`signature ${i}`);
    if (algorithmLength === 0 || algorithmLength > 64)
      fail('FORGE_PKG_MALFORMED', `signature ${i} has an algorithm name of ${algorithmLength} bytes`, at);
    const algorithm = Buffer.from(r.take(algorithmLength, `signature ${i}`)).toString('latin1');
    if (!/^[a-z0-9][a-z0-9-]*$/.test(algorithm))
      fail('FORGE_PKG_MALFORMED', `signature ${i} has a malformed algorithm name`, at);
    const keyId = toHex(r.take(32, `the key id of signature ${i}`));
    const lengthAt = r.offset;
    const signatureLength = r.u32(`signature ${i}`);
    if (signatureLength === 0) fail('FORGE_PKG_MALFORMED', `signature ${i} is empty`, lengthAt);
    limit(signatureLength, limits.maxSignatureBytes, `the length of signature ${i}`, lengthAt);
    signatures.push({ algorithm, keyId, signature: r.take(signatureLength, `signature ${i}`) });
  }
  if (r.remaining() !== 0) {
    fail(
      'FORGE_PKG_TRAILING_DATA',
      `${r.remaining()} bytes follow the signature block; the file is longer than its structure`,
      r.offset,
    );
  }
  return {
    formatVersion,
    manifestBytes,
    signedBytes,
    entries,
    signatures,
    unsignedLength,
    totalBytes: bytes.length,
  };
}

/** SHA-256 of header + manifest: what a package signature signs (hex). */
export function packageDigest(parsed: Pick<ParsedPackage, 'signedBytes'>): Uint8Array {
  return sha256(parsed.signedBytes);
}

/** The exact bytes a package signature covers: `ForgeOne/forgepkg/v1\0` + digest. */
export function packageSigningMessage(digest: Uint8Array): Uint8Array {
  return signingMessage('forgepkg', digest);
}

/** Lays out a package. Entries are written in the order given; signatures may be empty. */
export function encodePackage(parts: {
  readonly manifestBytes: Uint8Array;
  readonly entries: readonly PackageEntry[];
  readonly signatures: readonly PackageSignature[];
}): Uint8Array {
  const names = parts.entries.map((e) => Buffer.from(e.name, 'utf8'));
  const algorithms = parts.signatures.map((s) => Buffer.from(s.algorithm, 'latin1'));
  let total = FORGEPKG_HEADER_BYTES + parts.manifestBytes.length + 2;
  parts.entries.forEach((entry, i) => (total += 2 + (names[i]?.length ?? 0) + 8 + entry.data.length));
  parts.signatures.forEach(
    (sig, i) => (total += 1 + (algorithms[i]?.length ?? 0) + 32 + 4 + sig.signature.length),
  );
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let o = 0;
  out.set(FORGEPKG_MAGIC, o);
  o += FORGEPKG_MAGIC.length;
  view.setUint16(o, FORGEPKG_FORMAT_VERSION);
  view.setUint16(o + 2, 0);
  view.setUint32(o + 4, parts.manifestBytes.length);
  view.setUint32(o + 8, parts.entries.length);
  o += 12;
  out.set(parts.manifestBytes, o);
  o += parts.manifestBytes.length;
  parts.entries.forEach((entry, i) => {
    const name = names[i] as Buffer;
    view.setUint16(o, name.length);
    out.set(name, o + 2);
    o += 2 + name.length;
    view.setBigUint64(o, BigInt(entry.data.length));
    out.set(entry.data, o + 8);
    o += 8 + entry.data.length;
  });
  o = writeSignatureBlock(out, view, o, parts.signatures, algorithms);
  return out;
}

/** Replaces the signature block of an encoded package. */
export function withSignatureBlock(
  parsed: ParsedPackage,
  bytesOfPackage: Uint8Array,
  signatures: readonly PackageSignature[],
): Uint8Array {
  const algorithms = signatures.map((s) => Buffer.from(s.algorithm, 'latin1'));
  let size = parsed.unsignedLength + 2;
  signatures.forEach((sig, i) => (size += 1 + (algorithms[i]?.length ?? 0) + 32 + 4 + sig.signature.length));
  const out = new Uint8Array(size);
  out.set(bytesOfPackage.subarray(0, parsed.unsignedLength));
  writeSignatureBlock(out, new DataView(out.buffer), parsed.unsignedLength, signatures, algorithms);
  return out;
}

function writeSignatureBlock(
  out: Uint8Array,
  view: DataView,
  start: number,
  signatures: readonly PackageSignature[],
  algorithms: readonly Buffer[],
): number {
  let o = start;
  view.setUint16(o, signatures.length);
  o += 2;
  signatures.forEach((sig, i) => {
    const algorithm = algorithms[i] as Buffer;
    view.setUint8(o, algorithm.length);
    out.set(algorithm, o + 1);
    o += 1 + algorithm.length;
    out.set(Buffer.from(sig.keyId, 'hex'), o);
    o += 32;
    view.setUint32(o, sig.signature.length);
    out.set(sig.signature, o + 4);
    o += 4 + sig.signature.length;
  });
  return o;
}
