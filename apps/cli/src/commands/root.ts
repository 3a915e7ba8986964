import type { Command } from 'commander';
import { ForgeError } from '@forgeone/common';
import {
  MAX_ROOT_KEYS,
  createRevocationList,
  createRootSigned,
  parseRootDocument,
  readPrivateKeyFile,
  readPublicKeyFile,
  readRootFile,
  signRevocationList,
  signRoot,
  verifyRootChain,
  withRevocations,
  writeRootFile,
  type PrivateKey,
  type PublicKey,
  type RoleInput,
  type RootDocument,
} from '@forgeone/crypto';
import { printResult, usageError, type CliIo } from '../cliIo';
import { parseIntegerFlag } from '../flagValues';
import { cliPath } from '../flagValues';
import { passphraseSource } from '../passphrase';

interface RoleFlags {
  key?: string[];
  threshold?: string[];
  packageKey?: string[];
  packageThreshold?: string[];
  expires: string;
  sign?: string[];
  out: string;
}

/** `ed25519=1` → { ed25519: 1 } */
function parseThresholds(specs: readonly string[], flag: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const spec of specs) {
    const match = /^([a-z0-9-]+)=(.*)$/.exec(spec);
    if (match === null) throw usageError(`${flag} ${spec}: expected <alg>=<n>, e.g. ed25519=1`);
    const alg = match[1] as string;
    // n counts signatures: at least one, at most as many keys as a root can hold.
    out[alg] = parseIntegerFlag(match[2] as string, `${flag} ${alg}=n: n`, 1, MAX_ROOT_KEYS);
  }
  if (Object.keys(out).length === 0) throw usageError(`give at least one ${flag} <alg>=<n>`);
  return out;
}

function parseExpiry(text: string): Date {
  const date = /^\d{4}-\d{2}-\d{2}(?:T[\d:.]+(?:Z|[+-]\d{2}:\d{2}))?$/.test(text)
    ? new Date(text)
    : new Date(Number.NaN);
  if (Number.isNaN(date.getTime()))
    throw usageError(`--expires ${text}: expected an ISO-8601 time like 2030-01-01T00:00:00Z`);
  return date;
}

async function readPublicKeys(io: CliIo, files: readonly string[]): Promise<PublicKey[]> {
  return Promise.all(files.map((file) => readPublicKeyFile(cliPath(io, file))));
}

async function readSigners(io: CliIo, files: readonly string[]): Promise<PrivateKey[]> {
  const passphrase = passphraseSource(io);
  const keys: PrivateKey[] = [];
  for (const file of files) keys.push(await readPrivateKeyFile(cliPath(io, file), { passphrase }));
  return keys;
}

async function roles(io: CliIo, flags: RoleFlags): Promise<{ root: RoleInput; packages: RoleInput }> {
  if (flags.key === undefined || flags.key.length === 0)
    throw usageError('give at least one --key <file.pub>');
  const root: RoleInput = {
    keys: await readPublicKeys(io, flags.key),
    threshold: parseThresholds(flags.threshold ?? [], '--threshold'),
  };
  const packages: RoleInput =
    flags.packageKey === undefined && flags.packageThreshold === undefined
      ? root
      : {
          keys: flags.packageKey === undefined ? root.keys : await readPublicKeys(io, flags.packageKey),
          threshold:
            flags.packageThreshold === undefined
              ? root.threshold
              : parseThresholds(flags.packageThreshold, '--package-threshold'),
        };
  return { root, packages };
}

function roleOptions(command: Command): Command {
  return command
    .option(
      '--key <file.pub...>',
      'public key files of the root role (and of the packages role unless --package-key)',
    )
    .option(
      '--threshold <alg=n...>',
      'signatures the root role needs per algorithm, e.g. ed25519=1 ml-dsa-65=1',
    )
    .option('--package-key <file.pub...>', 'public key files of the packages role (default: the --key keys)')
    .option(
      '--package-threshold <alg=n...>',
      'signatures a package needs per algorithm (default: --threshold)',
    )
    .requiredOption('--expires <ISO-8601>', 'expiry of the root, e.g. 2030-01-01T00:00:00Z')
    .option('--sign <file.key...>', 'private keys that sign the root')
    .requiredOption('--out <root.json>', 'where to write the root')
    .option('--json', 'print a JSON result');
}

/**
 * Checks signatures and thresholds as of just before the new root expires, so an already-expired
 * root can still be written (to test clients) with a warning instead of a refusal.
 */
function checkChain(io: CliIo, chain: readonly RootDocument[]): void {
  const last = chain[chain.length - 1] as RootDocument;
  const expires = Date.parse(last.signed.expires);
  verifyRootChain(chain, { clock: { now: () => expires - 1, monotonicNs: () => 0n } });
  if (expires <= Date.now())
    io.err(
      `warning: root v${last.signed.version} is already expired (${last.signed.expires}); clients will refuse it`,
    );
}

function summary(doc: RootDocument): Record<string, unknown> {
  return {
    version: doc.signed.version,
    expires: doc.signed.expires,
    keys: Object.keys(doc.signed.keys).length,
    roles: Object.fromEntries(Object.entries(doc.signed.roles).map(([name, role]) => [name, role.threshold])),
    signatures: doc.signatures.length,
  };
}

export function registerRoot(program: Command, io: CliIo): void {
  const root = program
    .command('root')
    .description('create, rotate and revoke keys of a TUF-shaped trust root');

  roleOptions(root.command('init').description('create and sign root version 1')).action(
    async (flags: RoleFlags) => {
      const { root: rootRole, packages } = await roles(io, flags);
      const signed = createRootSigned({
        version: 1,
        expires: parseExpiry(flags.expires),
        root: rootRole,
        packages,
      });
      const doc = signRoot(signed, await readSigners(io, flags.sign ?? []));
      checkChain(io, [doc]); // refuse to write a root whose signatures do not meet its thresholds
      const out = cliPath(io, flags.out);
      await writeRootFile(out, doc);
      printResult(io, { message: `wrote trust root v1 to ${out}`, data: { path: out, ...summary(doc) } });
    },
  );

  roleOptions(
    root
      .command('rotate <current>')
      .description(
        'create root version N+1; --sign must meet the thresholds of the current root and of the new one',
      ),
  ).action(async (currentPath: string, flags: RoleFlags) => {
    const current = parseRootDocument(await readRootFile(cliPath(io, currentPath)));
    const { root: rootRole, packages } = await roles(io, flags);
    const revoked = new Set(current.revocations?.signed.revoked.map((r) => r.keyid) ?? []);
    const reused = [...rootRole.keys, ...packages.keys].find((k) => revoked.has(k.keyId));
    if (reused !== undefined)
      throw new ForgeError(
        'FORGE_ROOT_INVALID',
        `key ${reused.keyId} is revoked in the current root; it cannot join the new one`,
      );
    const signed = createRootSigned({
      version: current.signed.version + 1,
      expires: parseExpiry(flags.expires),
      root: rootRole,
      packages,
    });
    const doc = signRoot(signed, await readSigners(io, flags.sign ?? []));
    checkChain(io, [current, doc]);
    const out = cliPath(io, flags.out);
    await writeRootFile(out, doc);
    printResult(io, {
      message: `wrote trust root v${doc.signed.version} to ${out}`,
      data: { path: out, ...summary(doc) },
    });
  });

  root
    .command('revoke <root>')
    .description('add keys to the root\u2019s revocation list, signed by a threshold of its root role')
    .option('--keyid <id|file.pub...>', 'key ids (hex) or public key files to revoke')
    .option('--reason <text>', 'why the keys are revoked')
    .option('--sign <file.key...>', 'root-role private keys that sign the revocation list')
    .option('--out <root.json>', 'where to write the result (default: in place)')
    .option('--json', 'print a JSON result')
    .action(
      async (
        rootPath: string,
        flags: { keyid?: string[]; reason?: string; sign?: string[]; out?: string },
      ) => {
        const path = cliPath(io, rootPath);
        const json = await readRootFile(path);
        const current = parseRootDocument(json);
        if (flags.keyid === undefined || flags.keyid.length === 0)
          throw usageError('give at least one --keyid <id|file.pub>');
        const ids: string[] = [];
        for (const entry of flags.keyid) {
          ids.push(
            /^[0-9a-f]{64}$/.test(entry) ? entry : (await readPublicKeyFile(cliPath(io, entry))).keyId,
          );
        }
        const previous = current.revocations?.signed;
        const revoked = new Map((previous?.revoked ?? []).map((r) => [r.keyid, r] as const));
        for (const id of ids)
          revoked.set(id, flags.reason === undefined ? { keyid: id } : { keyid: id, reason: flags.reason });
        const list = createRevocationList({
          version: (previous?.version ?? 0) + 1,
          revoked: [...revoked.values()],
        });
        const doc = withRevocations(
          current,
          signRevocationList(list, await readSigners(io, flags.sign ?? [])),
        );
        checkChain(io, [doc]);
        const out = flags.out === undefined ? path : cliPath(io, flags.out);
        await writeRootFile(out, doc);
        printResult(io, {
          message: `revoked ${ids.length} key(s); revocation list v${list.version} in ${out}`,
          data: { path: out, revocationVersion: list.version, revoked: [...revoked.keys()] },
        });
      },
    );
}
