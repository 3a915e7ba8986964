import { concatBytes } from './bytes';

// Just enough DER for SPKI and PKCS#8 of fixed-size keys. Because every length is fixed per
// algorithm, a decoder compares the whole prefix byte for byte: that is strict DER parsing with no
// length field an attacker could lie in.

function derLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  if (length < 0x100) return Uint8Array.of(0x81, length);
  return Uint8Array.of(0x82, length >> 8, length & 0xff);
}

function tlv(tag: number, body: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(tag), derLength(body.length), body);
}

function oidBody(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  const [first = 0, second = 0, ...rest] = arcs;
  const out: number[] = [first * 40 + second];
  for (const arc of rest) {
    const chunk: number[] = [arc & 0x7f];
    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128))
      chunk.unshift((value & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return Uint8Array.from(out);
}

function algorithmIdentifier(oid: string): Uint8Array {
  return tlv(0x30, tlv(0x06, oidBody(oid)));
}

/** SubjectPublicKeyInfo for a raw public key (RFC 5280), parameters absent (RFC 8410/9881/9909). */
export function encodeSpki(oid: string, publicKey: Uint8Array): Uint8Array {
  return tlv(
    0x30,
    concatBytes(algorithmIdentifier(oid), tlv(0x03, concatBytes(Uint8Array.of(0), publicKey))),
  );
}

/** The bytes before the key in an SPKI of a `keyLength`-byte key. */
export function spkiPrefix(oid: string, keyLength: number): Uint8Array {
  return encodeSpki(oid, new Uint8Array(keyLength)).subarray(0, -keyLength);
}

/** OneAsymmetricKey v1 (RFC 5958) whose privateKey OCTET STRING holds `inner`. */
export function encodePkcs8(oid: string, inner: Uint8Array): Uint8Array {
  return tlv(0x30, concatBytes(Uint8Array.of(0x02, 0x01, 0x00), algorithmIdentifier(oid), tlv(0x04, inner)));
}

export function pkcs8Prefix(oid: string, innerPrefix: Uint8Array, keyLength: number): Uint8Array {
  return encodePkcs8(oid, concatBytes(innerPrefix, new Uint8Array(keyLength))).subarray(0, -keyLength);
}

/** [0] IMPLICIT OCTET STRING, the seed choice of an ML-DSA private key (RFC 9881). */
export function contextPrimitive0(length: number): Uint8Array {
  return concatBytes(Uint8Array.of(0x80), derLength(length));
}

/** OCTET STRING header, the CurvePrivateKey wrapping of RFC 8410. */
export function octetStringHeader(length: number): Uint8Array {
  return concatBytes(Uint8Array.of(0x04), derLength(length));
}

/** True when `bytes` starts with `prefix`. */
export function hasPrefix(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** PEM armor with 64-column base64 lines. */
export function toPem(label: string, der: Uint8Array): string {
  const body = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

/** The DER inside one PEM block with `label`, or undefined when the text is not exactly that. */
export function fromPem(text: string, label: string): Uint8Array | undefined {
  const match = new RegExp(
    `^\\s*-----BEGIN ${label}-----\\r?\\n([A-Za-z0-9+/=\\r\\n]+?)\\r?\\n?-----END ${label}-----\\s*$`,
  ).exec(text);
  if (match === null) return undefined;
  const b64 = (match[1] ?? '').replace(/\r?\n/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) return undefined;
  return new Uint8Array(Buffer.from(b64, 'base64'));
}
