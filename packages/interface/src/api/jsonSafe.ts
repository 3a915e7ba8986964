/** A value as JSON can carry it: bigint as decimal text, bytes as base64, errors as code and message. */
export function jsonSafe(value: unknown, depth = 0): unknown {
  if (depth > 64) return null;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { ...(typeof code === 'string' ? { code } : {}), message: value.message };
  }
  if (Array.isArray(value)) return value.map((v) => jsonSafe(v, depth + 1) ?? null);
  if (value instanceof Map) return jsonSafe(Object.fromEntries(value), depth);
  if (value instanceof Set) return jsonSafe([...value], depth);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      const safe = jsonSafe(v, depth + 1);
      if (safe !== undefined) out[key] = safe;
    }
    return out;
  }
  if (typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}

const SECRET_KEY = /secret|password|passphrase|token|credential|private|apikey|api_key/i;

/** A configuration with every value under a secret-looking key replaced by `[redacted]`. */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > 64) return null;
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value))
      out[key] =
        SECRET_KEY.test(key) && v !== null && v !== undefined ? '[redacted]' : redactSecrets(v, depth + 1);
    return out;
  }
  return value;
}
