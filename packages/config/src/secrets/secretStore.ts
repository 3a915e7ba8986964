import {
  ForgeError,
  systemClock,
  type Clock,
  type JsonValue,
  type StorageOps,
  type StoragePort,
} from '@forgeone/common';
import { z } from 'zod';
import { createKeyEncryptionKey, openKeyEncryptionKey, type KeyEncryptionKey } from './keyEncryptionKey';
import { openSecret, rewrapSecret, sealSecret, tampered } from './secretEnvelope';
import type { SecretKeySource } from './secretKeySource';
import { parseSecretName } from './secretName';
import {
  KEY_RECORD_KEY,
  MAX_SECRET_VALUE_BYTES,
  SECRETS_META_NAMESPACE,
  SECRETS_NAMESPACE,
  keyRecordSchema,
  secretNoteSchema,
  secretRecordSchema,
  type KeyRecord,
  type SecretRecord,
} from './secretRecords';
import { SecretValue } from './secretValue';

/** What `list()` tells of a secret: never its value. */
export interface SecretInfo {
  readonly name: string;
  /** 1 when first set, +1 per set. */
  readonly version: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly actor: string | null;
  readonly reason: string | null;
}

/** Who set a secret and why (kept in clear, authenticated with the value). */
export interface SecretMeta {
  readonly actor?: string;
  readonly reason?: string;
}

export interface SecretStoreOptions {
  /** Time of created/updated stamps. Default: the system clock. */
  readonly clock?: Pick<Clock, 'now'>;
}

const PAGE = 1000;
const metaSchema = z.strictObject({
  actor: secretNoteSchema.optional(),
  reason: secretNoteSchema.optional(),
});

/**
 * Secrets encrypted at rest in a storage port: each value under its own random data key
 * (XChaCha20-Poly1305), each data key wrapped by the store's key-encryption key (from a passphrase
 * through scrypt, or a key file). Values leave only as SecretValue.
 */
export class SecretStore {
  /** Undefined until the store has a key record (the first `set` writes it). */
  #kek: KeyEncryptionKey | undefined;

  private constructor(
    private readonly store: StoragePort,
    private readonly source: SecretKeySource,
    kek: KeyEncryptionKey | undefined,
    private readonly clock: Pick<Clock, 'now'>,
  ) {
    this.#kek = kek;
  }

  /**
   * Opens the secrets of `store` with `source`: FORGE_SECRET_KEY_WRONG when the store's secrets are
   * under another key. A store with no secrets yet takes this key at its first `set`.
   */
  static async open(
    store: StoragePort,
    source: SecretKeySource,
    options: SecretStoreOptions = {},
  ): Promise<SecretStore> {
    const record = await readKeyRecord(store);
    const kek = record === undefined ? undefined : await openKeyEncryptionKey(source, record);
    return new SecretStore(store, source, kek, options.clock ?? systemClock);
  }

  /** True when `store` holds a secret key record (a first `set` has been made). */
  static async hasKey(store: StorageOps): Promise<boolean> {
    return (await store.getRecord(SECRETS_META_NAMESPACE, KEY_RECORD_KEY)) !== undefined;
  }

  /** Stores `value` as secret `name` (a new version when it exists) and returns its info. */
  async set(name: string, value: string, meta: SecretMeta = {}): Promise<SecretInfo> {
    parseSecretName(name);
    checkValue(value);
    const note = metaSchema.safeParse(meta);
    if (!note.success)
      throw new ForgeError(
        'FORGE_SECRET_META_INVALID',
        `secret ${name}: ${note.error.issues[0]?.path.join('.') ?? 'meta'}: ${note.error.issues[0]?.message ?? 'invalid'}`,
      );
    // A first set makes the key outside the transaction: scrypt must not hold the store.
    const created =
      this.#kek === undefined ? await createKeyEncryptionKey(this.source, this.clock.now()) : undefined;
    return this.store.transaction(async (tx) => {
      const kek = await this.currentKey(tx, created);
      const now = this.clock.now();
      const old = await tx.getRecord(SECRETS_NAMESPACE, name);
      const previous = old === undefined ? undefined : parseRecord(name, old.value);
      const fields = {
        format: 1 as const,
        version: (previous?.version ?? 0) + 1,
        createdAt: previous?.createdAt ?? now,
        updatedAt: now,
        actor: note.data.actor ?? null,
        reason: note.data.reason ?? null,
      };
      const record: SecretRecord = { ...fields, ...sealSecret(kek, name, fields, value) };
      await tx.putRecord(SECRETS_NAMESPACE, name, record as unknown as JsonValue, {
        expectedVersion: old?.version ?? 0,
      });
      return info(name, record);
    });
  }

  /** The value of secret `name`: FORGE_SECRET_NOT_FOUND, FORGE_SECRET_TAMPERED. */
  async get(name: string): Promise<SecretValue> {
    parseSecretName(name);
    const stored = await this.store.getRecord(SECRETS_NAMESPACE, name);
    if (stored === undefined) throw notFound(name);
    const record = parseRecord(name, stored.value);
    const kek = await this.keyFor(name, record);
    return new SecretValue(name, openSecret(kek, name, record));
  }

  /** What a `secret:<name>` reference resolves to (the ConfigContext side calls this). */
  resolve(name: string): Promise<SecretValue> {
    return this.get(name);
  }

  /** Every secret's name, version and times, in name order. No value is decrypted. */
  async list(): Promise<SecretInfo[]> {
    const infos: SecretInfo[] = [];
    for (let after: string | undefined; ;) {
      const page = await this.store.listRecords(SECRETS_NAMESPACE, {
        limit: PAGE,
        ...(after === undefined ? {} : { after }),
      });
      for (const stored of page) infos.push(info(stored.key, parseRecord(stored.key, stored.value)));
      if (page.length < PAGE) return infos;
      after = page.at(-1)?.key;
    }
  }

  /** Deletes secret `name`, or FORGE_SECRET_NOT_FOUND. Works on a tampered one too. */
  async remove(name: string): Promise<void> {
    parseSecretName(name);
    if (!(await this.store.deleteRecord(SECRETS_NAMESPACE, name))) throw notFound(name);
  }

  /**
   * Rewraps every data key under the key from `next`, in one transaction with the new key record:
   * a failure or a crash part-way leaves every secret under the old key. Values are unchanged; a
   * secret whose wrapped key does not authenticate stops the rotation (FORGE_SECRET_TAMPERED).
   */
  async rotateKey(next: SecretKeySource): Promise<{ rewrapped: number }> {
    const { kek: fresh, record: freshRecord } = await createKeyEncryptionKey(next, this.clock.now());
    const rewrapped = await this.store.transaction(async (tx) => {
      if (this.#kek === undefined && (await readKeyRecord(tx)) === undefined) {
        // No secret was ever set: the new key simply becomes the store's key.
        await tx.putRecord(SECRETS_META_NAMESPACE, KEY_RECORD_KEY, freshRecord as unknown as JsonValue, {
          expectedVersion: 0,
        });
        return 0;
      }
      const kek = await this.currentKey(tx, undefined);
      let count = 0;
      for (let after: string | undefined; ;) {
        const page = await tx.listRecords(SECRETS_NAMESPACE, {
          limit: PAGE,
          ...(after === undefined ? {} : { after }),
        });
        for (const stored of page) {
          const record = rewrapSecret(kek, fresh, stored.key, parseRecord(stored.key, stored.value));
          await tx.putRecord(SECRETS_NAMESPACE, stored.key, record as unknown as JsonValue, {
            expectedVersion: stored.version,
          });
          count += 1;
        }
        if (page.length < PAGE) break;
        after = page.at(-1)?.key;
      }
      const record: KeyRecord = { ...freshRecord, rotatedAt: freshRecord.createdAt };
      await tx.putRecord(SECRETS_META_NAMESPACE, KEY_RECORD_KEY, record as unknown as JsonValue);
      return count;
    });
    this.#kek?.key.fill(0);
    this.#kek = fresh;
    return { rewrapped };
  }

  /**
   * The key to write under, checked against the store's key record inside the transaction: another
   * writer may have rotated it (FORGE_SECRET_KEY_ROTATED) or made the first key meanwhile.
   */
  private async currentKey(
    tx: StorageOps,
    created: { kek: KeyEncryptionKey; record: KeyRecord } | undefined,
  ): Promise<KeyEncryptionKey> {
    const record = await readKeyRecord(tx);
    if (record === undefined) {
      // No key record: a first set writes its new one; with a key in hand, the record was deleted.
      if (created === undefined || this.#kek !== undefined) throw keyRecordMissing();
      await tx.putRecord(SECRETS_META_NAMESPACE, KEY_RECORD_KEY, created.record as unknown as JsonValue, {
        expectedVersion: 0,
      });
      this.#kek = created.kek;
      return created.kek;
    }
    if (this.#kek === undefined) throw rotated();
    if (record.keyId !== this.#kek.keyId) throw rotated();
    return this.#kek;
  }

  /** The key a record is wrapped under: ours, or why not (rotated elsewhere, or the record edited). */
  private async keyFor(name: string, record: SecretRecord): Promise<KeyEncryptionKey> {
    if (this.#kek === undefined) {
      // Opened before any secret existed: another writer made the store's key since.
      const keyRecord = await readKeyRecord(this.store);
      if (keyRecord === undefined) throw keyRecordMissing();
      this.#kek = await openKeyEncryptionKey(this.source, keyRecord);
    }
    if (record.keyId === this.#kek.keyId) return this.#kek;
    const keyRecord = await readKeyRecord(this.store);
    if (keyRecord !== undefined && keyRecord.keyId !== this.#kek.keyId) throw rotated();
    throw tampered(name, 'it names a key generation the store does not have');
  }
}

async function readKeyRecord(store: StorageOps): Promise<KeyRecord | undefined> {
  const stored = await store.getRecord(SECRETS_META_NAMESPACE, KEY_RECORD_KEY);
  if (stored === undefined) return undefined;
  const parsed = keyRecordSchema.safeParse(stored.value);
  if (parsed.success) return parsed.data;
  throw new ForgeError(
    'FORGE_SECRET_TAMPERED',
    `the secret store's key record was tampered with or corrupted (${parsed.error.issues[0]?.path.join('.') || 'record'}); no secret can be opened`,
  );
}

function parseRecord(name: string, value: JsonValue): SecretRecord {
  const parsed = secretRecordSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw tampered(name, `its record is malformed (${parsed.error.issues[0]?.path.join('.') || 'record'})`);
}

function checkValue(value: unknown): asserts value is string {
  // The messages say what is wrong with the value, never any of its text.
  if (typeof value !== 'string') throw invalidValue(`a secret value is text, got ${typeof value}`);
  if (value.length === 0) throw invalidValue('the secret value is empty');
  if (/[\uD800-\uDFFF]/u.test(value))
    throw invalidValue('the secret value is not valid Unicode text (a lone surrogate)');
  if (value.includes('\0')) throw invalidValue('the secret value holds a NUL character');
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_SECRET_VALUE_BYTES)
    throw invalidValue(`the secret value is ${bytes} bytes; at most ${MAX_SECRET_VALUE_BYTES}`);
}

function info(name: string, record: SecretRecord): SecretInfo {
  return {
    name,
    version: record.version,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    actor: record.actor,
    reason: record.reason,
  };
}

const invalidValue = (message: string) => new ForgeError('FORGE_SECRET_VALUE_INVALID', message);
const notFound = (name: string) =>
  new ForgeError('FORGE_SECRET_NOT_FOUND', `no secret ${name} is defined in this store`, {
    details: { name },
  });
const rotated = () =>
  new ForgeError(
    'FORGE_SECRET_KEY_ROTATED',
    'the secret store was given another key since it was opened here (rotated or initialized elsewhere); open it again',
  );
const keyRecordMissing = () =>
  new ForgeError(
    'FORGE_SECRET_TAMPERED',
    "the secret store's key record is missing; no secret can be opened",
  );
