import { InvalidArgumentError, Option, type Command } from 'commander';
import { TokenStore, apiRoles, type ApiRole, type TokenInfo } from '@forgeone/interface';
import { openDaemonStore } from './daemon';

/** `30d`, `12h`, `90m`, `45s` from now, or an ISO 8601 time: when a token stops working, ms since the epoch. */
export function parseExpiry(value: string, now: number): number {
  const relative = /^(\d{1,6})([smhd])$/.exec(value);
  if (relative) {
    const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 's' | 'm' | 'h' | 'd'];
    return now + Number(relative[1]) * unit;
  }
  const at = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/.test(value)
    ? Date.parse(value)
    : Number.NaN;
  if (Number.isNaN(at))
    throw new InvalidArgumentError('expected a duration (30d, 12h, 90m, 45s) or an ISO 8601 time');
  return at;
}

/** Opens the token table in the daemon's store: the same SQLite file, whether or not the daemon runs. */
async function withTokens<T>(dataDir: string, fn: (tokens: TokenStore) => Promise<T>): Promise<T> {
  const store = await openDaemonStore(dataDir);
  try {
    return await fn(new TokenStore(store));
  } finally {
    await store.close();
  }
}

function describeToken(t: TokenInfo, now: number): string {
  const state =
    t.revokedAt !== null ? 'revoked' : t.expiresAt !== null && t.expiresAt <= now ? 'expired' : 'active';
  const expires = t.expiresAt === null ? 'never' : new Date(t.expiresAt).toISOString();
  return `${t.id}  ${t.name}  ${t.role}  ${state}  created ${new Date(t.createdAt).toISOString()}  expires ${expires}`;
}

const dataDirOption = () =>
  new Option(
    '--data-dir <dir>',
    "the daemon's data directory (its SQLite store holds the tokens)",
  ).makeOptionMandatory();

/**
 * `forgeoned token create|list|revoke`: API tokens in the daemon's store. A created token is printed
 * once, alone on the last line; only its hash is kept.
 */
export function registerTokenCommand(program: Command, write: (text: string) => void): void {
  const token = program.command('token').description('API bearer tokens: create, list, revoke');
  token
    .command('create')
    .description('make a token; it is printed once, alone on the last line')
    .addOption(new Option('--role <role>', 'what it may do').choices([...apiRoles]).makeOptionMandatory())
    .option('--name <name>', 'a name for logs and the audit log (default token-<id>)')
    .option('--expires <when>', 'when it stops working: 30d, 12h, 90m, 45s, or an ISO 8601 time')
    .addOption(dataDirOption())
    .action(async (flags: { role: ApiRole; name?: string; expires?: string; dataDir: string }) => {
      const now = Date.now();
      const expiresAt = flags.expires === undefined ? undefined : parseExpiry(flags.expires, now);
      const made = await withTokens(flags.dataDir, (tokens) =>
        tokens.create({
          role: flags.role,
          ...(flags.name === undefined ? {} : { name: flags.name }),
          ...(expiresAt === undefined ? {} : { expiresAt }),
        }),
      );
      write(`created ${describeToken(made.info, now)}\n`);
      write('the token is shown once, on the next line; keep it secret:\n');
      write(`${made.token}\n`);
    });
  token
    .command('list')
    .description('every token (never its secret)')
    .addOption(dataDirOption())
    .action(async (flags: { dataDir: string }) => {
      const now = Date.now();
      for (const t of await withTokens(flags.dataDir, (tokens) => tokens.list()))
        write(`${describeToken(t, now)}\n`);
    });
  token
    .command('revoke')
    .description('revoke a token by id or name: it stops working at once, even in a running daemon')
    .argument('<token>', 'its id or name')
    .addOption(dataDirOption())
    .action(async (idOrName: string, flags: { dataDir: string }) => {
      const info = await withTokens(flags.dataDir, (tokens) => tokens.revoke(idOrName));
      write(`revoked ${describeToken(info, Date.now())}\n`);
    });
}
