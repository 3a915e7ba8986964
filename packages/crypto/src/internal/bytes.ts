import { ForgeError, type ForgeErrorCode } from '@forgeone/common';

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;
const B64URL_RE = /^[A-Za-z0-9_-]*$/;

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Bytes of a hex string; throws `code` on odd length or a non-hex character. */
export function fromHex(
  hex: string,
  what: string,
  code: ForgeErrorCode = 'FORGE_CRYPTO_BAD_KEY',
): Uint8Array {
  if (!HEX_RE.test(hex)) throw new ForgeError(code, `${what} is not an even-length hex string`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

export function fromBase64Url(
  text: string,
  what: string,
  code: ForgeErrorCode = 'FORGE_KEY_FORMAT',
): Uint8Array {
  // Buffer's decoder skips junk silently; refuse it instead so a key has exactly one spelling.
  if (!B64URL_RE.test(text) || text.length % 4 === 1) throw new ForgeError(code, `${what} is not base64url`);
  const bytes = new Uint8Array(Buffer.from(text, 'base64url'));
  if (toBase64Url(bytes) !== text) throw new ForgeError(code, `${what} is not canonical base64url`);
  return bytes;
}

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Decodes UTF-8, refusing invalid sequences (returns undefined) instead of inserting U+FFFD. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}
