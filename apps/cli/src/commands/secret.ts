import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { ForgeError, STATE_DB_FILE, SqliteStore, openStateStore, type StoragePort } from '@forgeone/common';
import {
  MAX_SECRET_VALUE_BYTES,
  SecretStore,
  passphraseKeySource,
  readSecretKeyFile,
  type SecretInfo,
  type SecretKeySource,
} from '@forgeone/config';
import { printResult, usageError, type CliIo } from '../cliIo';
import { STATE_ENV, cliPath } from '../flagValues';
import { promptHidden } from '../passphrase';

/** The passphrase of a state's secrets, when no --key-file is given. */
export const SECRET_PASSPHRASE_ENV = 'FORGEONE_SECRET_PASSPHRASE';
/** The passphrase `rotate-key` moves the secrets to, when no --new-key-file is given. */
export const SECRET_NEW_PASSPHRASE_ENV = 'FORGEONE_SECRET_NEW_PASSPHRASE';
/** Where runs keep their state when neither --state nor $FORGEONE_STATE names one (as `run` does). */
const DEFAULT_STATE_DIR = '.forgeone';

interface SecretFlags {
  state?: string;
  keyFile?: string;
}

/**
 * `forgeone secret set|list|check|rm|rotate-key`: secrets encrypted at rest in a state's kernel.db. A
 * value comes from standard input only — never argv, where shell history and `ps` would keep it —
 * and no command prints one.
 */
export function registerSecret(program: Command, io: CliIo): void {
  const secret = program
    .command('secret')
    .description('secrets encrypted at rest in a state: set (value from stdin), list, check, rm, rotate-key');
  const common = (command: Command) =>
    command
      .addOption(
        new Option(
          '--state <dir>',
          `the state holding the secrets (default: $${STATE_ENV}, else ./${DEFAULT_STATE_DIR})`,
        ),
      )
      .addOption(
        new Option(
          '--key-file <file>',
          `the key-encryption key: 32 bytes in hex or base64, mode 0600 (default: a passphrase from $${SECRET_PASSPHRASE_ENV}, else a prompt)`,
        ),
      )
      .option('--json', 'print JSON');

  common(
    secret
      .command('set')
      .description('store secret <name>, its value read from standard input (one trailing newline dropped)')
      .argument('<name>', 'the secret name: a letter, then letters, digits, . _ - (at most 64)')
      .option('--actor <who>', 'who sets it (kept with the secret, not encrypted)')
      .option('--reason <why>', 'why (kept with the secret, not encrypted)')
      .allowExcessArguments(true),
  ).action(
    async (name: string, flags: SecretFlags & { actor?: string; reason?: string }, command: Command) => {
      // Refused before anything else, and never echoed: an extra argument is most likely the value.
      if (command.args.length > 1)
        throw usageError(
          'secret set takes only <name>: the value is read from standard input, never from the command line (shell history and ps keep arguments)',
        );
      await withSecrets(io, flags, { create: true }, async (secrets) => {
        const value = await readValue(name);
        const info = await secrets.set(name, value, {
          ...(flags.actor === undefined ? {} : { actor: flags.actor }),
          ...(flags.reason === undefined ? {} : { reason: flags.reason }),
        });
        printResult(io, {
          message: `set secret ${name} (version ${info.version})`,
          data: { secret: infoJson(info) },
        });
      });
    },
  );

  common(
    secret
      .command('list')
      .description('list the secrets: name, version, times, actor, reason (never a value)'),
  ).action(async (flags: SecretFlags) => {
    const infos =
      (await withSecrets(io, flags, { create: false, readOnly: true }, (secrets) => secrets.list())) ?? [];
    printResult(io, {
      message: `${infos.length} secret(s)`,
      lines: infos.length === 0 ? ['no secrets in this state'] : infos.map(infoLine),
      data: { secrets: infos.map(infoJson) },
    });
  });

  common(
    secret
      .command('check')
      .description('decrypt every secret (or the names given) in memory to prove it intact; prints no value')
      .argument('[names...]', 'only these secrets'),
  ).action(async (names: string[], flags: SecretFlags) => {
    const checked =
      (await withSecrets(io, flags, { create: false, readOnly: true }, async (secrets) => {
        const wanted = names.length > 0 ? names : (await secrets.list()).map((info) => info.name);
        // get() authenticates the wrapped key and the ciphertext; the value is dropped unread.
        for (const name of wanted) await secrets.get(name);
        return wanted;
      })) ?? [];
    if (checked.length === 0 && names.length > 0)
      throw new ForgeError(
        'FORGE_SECRET_NOT_FOUND',
        `no secret ${names[0] ?? ''}: the state holds no secrets`,
      );
    printResult(io, {
      message: `${checked.length} secret(s) intact`,
      data: { intact: checked },
    });
  });

  common(
    secret.command('rm').description('delete secret <name>').argument('<name>', 'the secret name'),
  ).action(async (name: string, flags: SecretFlags) => {
    const removed = await withSecrets(io, flags, { create: false }, async (secrets) => {
      await secrets.remove(name);
      return true;
    });
    if (removed === undefined)
      throw new ForgeError('FORGE_SECRET_NOT_FOUND', `no secret ${name}: the state holds no secrets`, {
        details: { name },
      });
    printResult(io, { message: `removed secret ${name}`, data: { name } });
  });

  common(
    secret
      .command('rotate-key')
      .description('rewrap every secret under a new key-encryption key, all or nothing; values unchanged')
      .addOption(
        new Option(
          '--new-key-file <file>',
          `the new key file (default: a passphrase from $${SECRET_NEW_PASSPHRASE_ENV}, else a prompt)`,
        ),
      ),
  ).action(async (flags: SecretFlags & { newKeyFile?: string }) => {
    const rewrapped = await withSecrets(io, flags, { create: false }, async (secrets) => {
      const next = await keySource(io, flags.newKeyFile, SECRET_NEW_PASSPHRASE_ENV, 'New passphrase', true);
      return (await secrets.rotateKey(next)).rewrapped;
    });
    printResult(io, {
      message:
        rewrapped === undefined
          ? 'no secrets in this state: nothing to rotate'
          : `rotated the key-encryption key: ${rewrapped} secret(s) rewrapped`,
      data: { rewrapped: rewrapped ?? 0 },
    });
  });
}

/**
 * Opens the state's secrets with the key the flags give, runs `work`, closes the store. Without
 * `create`, a state that does not exist (or holds no secrets) is not made or changed: `work` is
 * skipped and the result is undefined.
 */
async function withSecrets<T>(
  io: CliIo,
  flags: SecretFlags,
  options: { create: boolean; readOnly?: boolean },
  work: (secrets: SecretStore) => Promise<T>,
): Promise<T | undefined> {
  const path = cliPath(io, flags.state ?? (io.env(STATE_ENV) || DEFAULT_STATE_DIR));
  let store: StoragePort;
  if (options.create) store = await openStateStore(path);
  else {
    const file = statSync(path, { throwIfNoEntry: false })?.isDirectory() ? join(path, STATE_DB_FILE) : path;
    if (!existsSync(file)) return undefined;
    store = options.readOnly === true ? await SqliteStore.openReadOnly(file) : await SqliteStore.open(file);
  }
  try {
    const fresh = !(await SecretStore.hasKey(store));
    // No secret was ever set here: nothing to list, check, remove or rotate, and no key to ask for.
    if (fresh && !options.create) return undefined;
    const source = await keySource(io, flags.keyFile, SECRET_PASSPHRASE_ENV, 'Secret passphrase', fresh);
    return await work(await SecretStore.open(store, source));
  } finally {
    await store.close();
  }
}

/**
 * A key source (also `run --secret`'s): the key file, else the passphrase in `env`, else a hidden prompt on a terminal
 * (asked twice when it makes a new key), else FORGE_SECRET_KEY_MISSING. Both a file and the
 * variable is ambiguous, and refused.
 */
export async function keySource(
  io: CliIo,
  keyFile: string | undefined,
  env: string,
  prompt: string,
  confirm: boolean,
  flag = env === SECRET_PASSPHRASE_ENV ? '--key-file' : '--new-key-file',
): Promise<SecretKeySource> {
  const fromEnv = io.env(env);
  if (keyFile !== undefined && fromEnv !== undefined) throw usageError(`give ${flag} or $${env}, not both`);
  if (keyFile !== undefined) return readSecretKeyFile(cliPath(io, keyFile));
  if (fromEnv !== undefined) return passphraseKeySource(fromEnv);
  if (process.stdin.isTTY && process.stderr.isTTY) {
    const first = await promptHidden(`${prompt}: `);
    if (confirm && first !== '' && (await promptHidden(`Repeat ${prompt.toLowerCase()}: `)) !== first)
      throw usageError('the passphrases do not match');
    return passphraseKeySource(first);
  }
  throw new ForgeError(
    'FORGE_SECRET_KEY_MISSING',
    `no key for the secrets: give ${flag} <file> or set $${env} (or run on a terminal to be asked)`,
  );
}

/** The value from standard input: a hidden prompt on a terminal, else all of it (bounded). */
async function readValue(name: string): Promise<string> {
  if (process.stdin.isTTY) return promptHidden(`Value of ${name}: `);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    // Room for the value, a CRLF, and one byte to know it is too long.
    if (size > MAX_SECRET_VALUE_BYTES + 2) {
      process.stdin.destroy();
      throw new ForgeError(
        'FORGE_SECRET_VALUE_INVALID',
        `the secret value on standard input is larger than ${MAX_SECRET_VALUE_BYTES} bytes`,
      );
    }
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new ForgeError(
      'FORGE_SECRET_VALUE_INVALID',
      'the secret value on standard input is not UTF-8 text',
    );
  } finally {
    for (const chunk of chunks) chunk.fill(0);
  }
  // `echo value |` adds a newline that is not part of the value.
  return text.replace(/\r?\n$/, '');
}

const iso = (ms: number) => new Date(ms).toISOString();

function infoJson(info: SecretInfo) {
  return {
    name: info.name,
    version: info.version,
    createdAt: iso(info.createdAt),
    updatedAt: iso(info.updatedAt),
    actor: info.actor,
    reason: info.reason,
  };
}

function infoLine(info: SecretInfo): string {
  const who = [info.actor, info.reason].filter((text) => text !== null).join(': ');
  return `${info.name}  v${info.version}  updated ${iso(info.updatedAt)}${who ? `  ${who}` : ''}`;
}
