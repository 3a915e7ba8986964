import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ForgeError, systemClock, type Clock, type StoragePort } from '@forgeone/common';
import { ApiRoleSchema, type ApiRole } from './roles';

/** Where tokens live in the daemon's store: one record per token, keyed by its id. */
export const TOKEN_NAMESPACE = 'api.tokens';

/** A token as stored and listed: never its secret, only the secret's SHA-256. */
export interface TokenInfo {
  readonly id: string;
  readonly name: string;
  readonly role: ApiRole;
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
}

interface StoredToken extends TokenInfo {
  readonly sha256: string;
}

/** What `create` takes. */
export interface CreateTokenOptions {
  readonly role: ApiRole;
  /** A name for logs and the audit log (unique). Default `token-<id>`. */
  readonly name?: string;
  /** When it stops working, ms since the epoch. Default: never. */
  readonly expiresAt?: number;
}

// `fo1_<id>_<secret>`: the id (64 bits, hex) finds the record; the secret is 256 random bits.
const TOKEN_PATTERN = /^fo1_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/**
 * The API's bearer tokens, in a StoragePort (the daemon's SQLite store, so that `forgeoned token`
 * can add one while the daemon runs). Only a hash is kept; a presented token is checked by a
 * constant-time comparison of hashes.
 */
export class TokenStore {
  readonly #store: StoragePort;
  readonly #clock: Clock;

  constructor(store: StoragePort, options: { clock?: Clock } = {}) {
    this.#store = store;
    this.#clock = options.clock ?? systemClock;
  }

  /** Makes a token; the secret is in the answer only, never stored. */
  async create(options: CreateTokenOptions): Promise<{ token: string; info: TokenInfo }> {
    const role = ApiRoleSchema.safeParse(options.role);
    if (!role.success)
      throw new ForgeError(
        'FORGE_API_TOKEN_INVALID',
        `token role must be viewer, operator or admin, not ${String(options.role)}`,
        {
          details: { field: 'role' },
        },
      );
    const now = this.#clock.now();
    if (
      options.expiresAt !== undefined &&
      (!Number.isSafeInteger(options.expiresAt) || options.expiresAt <= now)
    )
      throw new ForgeError('FORGE_API_TOKEN_INVALID', 'token expiry must be a time in the future', {
        details: { field: 'expires' },
      });
    const id = randomBytes(8).toString('hex');
    const name = options.name ?? `token-${id}`;
    if (!NAME_PATTERN.test(name))
      throw new ForgeError(
        'FORGE_API_TOKEN_INVALID',
        'token name must be 1-64 letters, digits, dots, dashes or underscores, starting with a letter or digit',
        { details: { field: 'name' } },
      );
    if ((await this.list()).some((t) => t.name === name))
      throw new ForgeError('FORGE_API_TOKEN_INVALID', `a token named ${name} already exists`, {
        details: { field: 'name' },
      });
    const token = `fo1_${id}_${randomBytes(32).toString('base64url')}`;
    const stored: StoredToken = {
      id,
      name,
      role: role.data,
      createdAt: now,
      expiresAt: options.expiresAt ?? null,
      revokedAt: null,
      sha256: sha256(token).toString('hex'),
    };
    await this.#store.putRecord(TOKEN_NAMESPACE, id, { ...stored }, { expectedVersion: 0 });
    return { token, info: infoOf(stored) };
  }

  /** Every token, oldest first, without hashes. */
  async list(): Promise<TokenInfo[]> {
    const out: TokenInfo[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.#store.listRecords(TOKEN_NAMESPACE, {
        ...(after ? { after } : {}),
        limit: 1000,
      });
      for (const record of page) {
        const token = storedOf(record.value);
        if (token) out.push(infoOf(token));
      }
      if (page.length < 1000) break;
      after = page[page.length - 1]!.key;
    }
    return out.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  }

  /** Revokes the token with this id or name (it stops working at once); FORGE_API_TOKEN_NOT_FOUND if none. */
  async revoke(idOrName: string): Promise<TokenInfo> {
    const info = (await this.list()).find((t) => t.id === idOrName || t.name === idOrName);
    const record = info && (await this.#store.getRecord(TOKEN_NAMESPACE, info.id));
    const stored = record && storedOf(record.value);
    if (!record || !stored)
      throw new ForgeError('FORGE_API_TOKEN_NOT_FOUND', `no token with id or name ${idOrName}`, {
        details: { token: idOrName },
      });
    if (stored.revokedAt !== null) return infoOf(stored);
    const revoked = { ...stored, revokedAt: this.#clock.now() };
    await this.#store.putRecord(TOKEN_NAMESPACE, stored.id, revoked, { expectedVersion: record.version });
    return infoOf(revoked);
  }

  /**
   * The token `presented` stands for, or why not (`malformed`, `unknown`, `expired`, `revoked`). The
   * hash comparison takes the same time whether it matches or not.
   */
  async verify(presented: string): Promise<{ ok: true; info: TokenInfo } | { ok: false; reason: string }> {
    const match = TOKEN_PATTERN.exec(presented);
    if (!match) return { ok: false, reason: 'malformed' };
    const record = await this.#store.getRecord(TOKEN_NAMESPACE, match[1]!);
    const stored = record && storedOf(record.value);
    // Compared even when there is no such token, so that the answer's time says nothing.
    const expected = stored ? Buffer.from(stored.sha256, 'hex') : Buffer.alloc(32);
    const equal = timingSafeEqual(sha256(presented), expected.length === 32 ? expected : Buffer.alloc(32));
    if (!stored || !equal) return { ok: false, reason: 'unknown' };
    if (stored.revokedAt !== null) return { ok: false, reason: 'revoked' };
    if (stored.expiresAt !== null && this.#clock.now() >= stored.expiresAt)
      return { ok: false, reason: 'expired' };
    return { ok: true, info: infoOf(stored) };
  }
}

function infoOf(token: StoredToken): TokenInfo {
  const { id, name, role, createdAt, expiresAt, revokedAt } = token;
  return { id, name, role, createdAt, expiresAt, revokedAt };
}

/** A stored record read back as a token, or undefined when it is not one (a hand-edited row). */
function storedOf(value: unknown): StoredToken | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const ok =
    typeof v['id'] === 'string' &&
    typeof v['name'] === 'string' &&
    ApiRoleSchema.safeParse(v['role']).success &&
    typeof v['createdAt'] === 'number' &&
    (v['expiresAt'] === null || typeof v['expiresAt'] === 'number') &&
    (v['revokedAt'] === null || typeof v['revokedAt'] === 'number') &&
    typeof v['sha256'] === 'string' &&
    /^[0-9a-f]{64}$/.test(v['sha256']);
  return ok ? (value as StoredToken) : undefined;
}
