import { z } from 'zod';
import { ForgeError, isForgeError, type JsonValue, type StoragePort } from '@forgeone/common';
import type { ChangeKind, ConfigActor } from './changePolicy';
import type { LeafChange } from './internal/leafMap';

/** One version of the configuration, as history returns it. */
export interface ConfigHistoryEntry {
  readonly version: number;
  /** ms since the epoch. */
  readonly time: number;
  readonly kind: ChangeKind;
  readonly actor: ConfigActor;
  readonly reason: string;
  /** Changed leaves; a secret field's old and new are `secret:<name>` references, never values. */
  readonly changes: readonly LeafChange[];
}

const json: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(json), z.record(z.string(), json)]),
);

const StoredVersionSchema = z.object({
  v: z.literal(1),
  version: z.number().int().min(1),
  time: z.number(),
  kind: z.enum(['initial', 'set', 'replace', 'rollback']),
  actor: z.object({ id: z.string(), roles: z.array(z.string()) }),
  reason: z.string(),
  changes: z.array(z.object({ path: z.string(), old: json.optional(), new: json.optional() })),
  config: z.record(z.string(), json),
});
type StoredVersion = z.output<typeof StoredVersionSchema>;

/** A version as stored: the entry plus the whole configuration, so any version can be rolled back to. */
export interface StoredConfigVersion extends ConfigHistoryEntry {
  readonly config: Record<string, JsonValue>;
}

/**
 * The durable history of one configuration over the storage port: a log (one entry per version,
 * the whole configuration in each) and a head record whose version is the configuration's
 * version, written together in one transaction with compare-and-set, so two writers cannot both
 * make version N.
 */
export class ConfigHistory {
  readonly #store: StoragePort;
  readonly #namespace: string;
  readonly #log: string;

  constructor(store: StoragePort, name = 'config') {
    this.#store = store;
    this.#namespace = name;
    this.#log = `${name}:history`;
  }

  /** The stored head version, 0 when nothing was stored. */
  async head(): Promise<number> {
    const record = await this.#store.getRecord(this.#namespace, 'head');
    return record?.version ?? 0;
  }

  /** The stored version `version`, or FORGE_CONFIG_VERSION_NOT_FOUND. */
  async read(version: number): Promise<StoredConfigVersion> {
    const head = await this.head();
    if (!Number.isSafeInteger(version) || version < 1 || version > head) {
      throw new ForgeError(
        'FORGE_CONFIG_VERSION_NOT_FOUND',
        `no configuration version ${String(version)} (the head is ${head})`,
        {
          details: { version: Number.isFinite(version) ? version : null, head },
        },
      );
    }
    const [entry] = await this.#store.readLog(this.#log, { fromSeq: version, limit: 1 });
    const parsed = entry === undefined ? undefined : StoredVersionSchema.safeParse(entry.data);
    if (!parsed?.success || parsed.data.version !== version) {
      throw new ForgeError(
        'FORGE_CONFIG_HISTORY_INVALID',
        `stored configuration version ${version} cannot be read`,
        {
          details: { version },
        },
      );
    }
    return toVersion(parsed.data);
  }

  /** Every stored version's entry, oldest first. */
  async entries(): Promise<ConfigHistoryEntry[]> {
    const out: ConfigHistoryEntry[] = [];
    for (let from = 1; ;) {
      const page = await this.#store.readLog(this.#log, { fromSeq: from, limit: 1000 });
      if (page.length === 0) return out;
      for (const entry of page) {
        const parsed = StoredVersionSchema.safeParse(entry.data);
        if (!parsed.success) {
          throw new ForgeError(
            'FORGE_CONFIG_HISTORY_INVALID',
            `stored configuration entry ${entry.seq} cannot be read`,
            {
              details: { version: entry.seq },
            },
          );
        }
        const { config: _config, ...rest } = toVersion(parsed.data);
        out.push(rest);
      }
      from = page[page.length - 1]!.seq + 1;
    }
  }

  /** Stores `next` as version `next.version`, which must be the head + 1 (else FORGE_CONFIG_CONFLICT). */
  async append(next: StoredConfigVersion): Promise<void> {
    const data: StoredVersion = {
      v: 1,
      ...next,
      actor: { id: next.actor.id, roles: [...next.actor.roles] },
      changes: [...next.changes],
    };
    try {
      await this.#store.transaction(async (tx) => {
        await tx.putRecord(
          this.#namespace,
          'head',
          { version: next.version },
          { expectedVersion: next.version - 1 },
        );
        const { firstSeq } = await tx.append(this.#log, [data as unknown as JsonValue]);
        if (firstSeq !== next.version) throw conflict(next.version);
      });
    } catch (error) {
      if (isForgeError(error) && error.code === 'FORGE_STORAGE_CONFLICT') throw conflict(next.version);
      throw error;
    }
  }
}

function conflict(version: number): ForgeError {
  return new ForgeError(
    'FORGE_CONFIG_CONFLICT',
    `configuration version ${version} was already written by another writer; reopen the context and retry`,
    { details: { version } },
  );
}

function toVersion(data: StoredVersion): StoredConfigVersion {
  return {
    version: data.version,
    time: data.time,
    kind: data.kind,
    actor: data.actor,
    reason: data.reason,
    changes: data.changes.map((c) => ({
      path: c.path,
      ...(c.old === undefined ? {} : { old: c.old }),
      ...(c.new === undefined ? {} : { new: c.new }),
    })),
    config: data.config,
  };
}
