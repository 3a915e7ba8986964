import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ForgeError, SqliteStore, isForgeError } from '@forgeone/common';
import { DEFAULT_AUDIT_LOG, isAuditRecordData, verifyAuditChain } from '@forgeone/trust';
import { CliExit, printJson, printResult, type CliIo } from '../cliIo';
import { parseIntegerFlag } from '../flagValues';

interface VerifyFlags {
  store: string;
  log: string;
  anchor?: string;
}

/** Parses `--anchor <seq>:<sha256>`. */
function parseAnchor(text: string | undefined): { seq: number; hash: string } | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+):([0-9a-f]{64})$/.exec(text);
  if (!match)
    throw new ForgeError(
      'FORGE_CLI_USAGE',
      `--anchor must be <seq>:<64 hex digits>, got ${JSON.stringify(text)}`,
    );
  return { seq: parseIntegerFlag(match[1]!, '--anchor seq', 0, Number.MAX_SAFE_INTEGER), hash: match[2]! };
}

/**
 * Opens the store read-only: verifying must not change what it verifies (a read-write open would
 * write a schema into an empty or foreign file and then vouch for it as an empty chain).
 */
async function openAuditStore(path: string): Promise<SqliteStore> {
  try {
    return await SqliteStore.openReadOnly(path);
  } catch (error) {
    if (isForgeError(error) && error.code === 'FORGE_STORAGE_CORRUPT') {
      throw new ForgeError('FORGE_AUDIT_NOT_FOUND', `no audit log to verify: ${error.message}`, {
        cause: error,
        details: { path },
      });
    }
    throw error;
  }
}

/** Entries looked at to tell an audit log from another log: an audit log's first entries are audit entries. */
const SNIFF_ENTRIES = 2;

/**
 * Refuses a log that is not there (a mistyped --log) or holds something else (events, a kv
 * database's logs): only a log with audit entries can be "intact". A damaged audit entry among the
 * first ones is left to the chain check, which names it.
 */
async function assertAuditLog(store: SqliteStore, path: string, log: string): Promise<void> {
  const first = await store.readLog(log, { limit: SNIFF_ENTRIES });
  if (first.length === 0) {
    throw new ForgeError(
      'FORGE_AUDIT_NOT_FOUND',
      `${path} has no log "${log}": nothing was audited into it (runs write log "audit" of <state>/kernel.db with --state, or of --audit <file.db>); check --store and --log`,
      { details: { path, log } },
    );
  }
  if (!first.some((entry) => isAuditRecordData(entry.data))) {
    throw new ForgeError(
      'FORGE_AUDIT_NOT_FOUND',
      `log "${log}" of ${path} is not an audit log (its entries are not hash-chained audit entries); check --log`,
      { details: { path, log } },
    );
  }
}

/** `forgeone audit verify`: proves the hash chain of a SQLite audit store intact, or names the broken entry. */
export function registerAudit(program: Command, io: CliIo): void {
  const audit = program
    .command('audit')
    .description('inspect the hash-chained audit log of enforcement decisions');
  audit
    .command('verify')
    .description(
      'verify the audit chain in a SQLite store; exits 1 and names the first broken entry if it does not verify',
    )
    .requiredOption('--store <path>', 'the SQLite store file (.db)')
    .option('--log <name>', 'the audit log inside the store', DEFAULT_AUDIT_LOG)
    .option('--anchor <seq:hash>', 'a (seq, hash) recorded earlier: also detects entries cut off after it')
    .option('--json', 'print a JSON result')
    .action(async (flags: VerifyFlags) => {
      const anchor = parseAnchor(flags.anchor);
      const path = resolve(io.cwd, flags.store);
      // Opening would create a new, empty store: a typo must not verify as an intact empty chain.
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile()) {
        throw new ForgeError(
          'FORGE_AUDIT_STORE_NOT_FOUND',
          `${path} does not exist or is not a file; pass the store's .db file to --store`,
          {
            details: { path },
          },
        );
      }
      const store = await openAuditStore(path);
      try {
        await assertAuditLog(store, path, flags.log);
        const result = await verifyAuditChain(store, flags.log, anchor ? { anchor } : {});
        if (!result.ok) {
          const message = `the audit chain is broken at entry ${result.brokenSeq}: ${result.reason} (${result.entries} entries before it verify)`;
          if (io.json) {
            printJson(io, {
              ok: false,
              code: 'FORGE_AUDIT_CHAIN_BROKEN',
              message,
              brokenSeq: result.brokenSeq,
              entries: result.entries,
            });
            throw new CliExit(1, 'FORGE_AUDIT_CHAIN_BROKEN');
          }
          throw new ForgeError('FORGE_AUDIT_CHAIN_BROKEN', message, {
            details: { brokenSeq: result.brokenSeq },
          });
        }
        const message = `audit chain intact: ${result.entries} entries in log "${flags.log}"${result.entries > 0 ? `; head ${result.head}:${result.lastHash}` : ''}`;
        printResult(io, {
          message,
          lines: [`OK: ${message}`],
          data: { entries: result.entries, head: result.head, lastHash: result.lastHash, log: flags.log },
        });
      } finally {
        await store.close();
      }
    });
}
