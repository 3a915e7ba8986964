import { ForgeError, type StoragePort } from '@forgeone/common';
import { SecretStore, parseSecretName, type SecretValue } from '@forgeone/config';
import type { LaunchSecrets } from '@forgeone/core';
import type { CliIo } from '../cliIo';
import type { RunFlags } from './runOptions';
import { SECRET_PASSPHRASE_ENV, keySource } from './secret';

/**
 * The values of a run's `--secret` names, from the state's secret store: every name checked, the
 * key asked for once, every value decrypted (authenticated) before the guest starts. A missing
 * secret, a wrong key or a tampered record is one coded line and nothing runs.
 */
export async function launchSecrets(io: CliIo, store: StoragePort, flags: RunFlags): Promise<LaunchSecrets> {
  const names = [...new Set(flags.secret)];
  for (const name of names) parseSecretName(name);
  if (!(await SecretStore.hasKey(store)))
    throw new ForgeError(
      'FORGE_SECRET_NOT_FOUND',
      `no secret ${names[0]}: the state holds no secrets (set one with \`forgeone secret set ${names[0]}\`)`,
      { details: { name: names[0] ?? null } },
    );
  const source = await keySource(
    io,
    flags.secretKeyFile,
    SECRET_PASSPHRASE_ENV,
    'Secret passphrase',
    false,
    '--secret-key-file',
  );
  const secrets = await SecretStore.open(store, source);
  const values: Record<string, SecretValue> = {};
  for (const name of names) values[name] = await secrets.get(name);
  return values;
}
