import { ForgeError } from '@forgeone/common';
import { MAX_SECRET_VALUE_BYTES, SecretValue, isSecretName } from '@forgeone/config';
import type { GuestSecrets } from '@forgeone/execution';

/**
 * The secrets a launch gives its guest, by name, as the secret store resolved them
 * (`await secrets.get(name)`): the guest reads one with `forge.secret_read` when its policy allows
 * the call (and, for a package, its manifest grants `secret:read:<name>`). Values stay SecretValues
 * until the guest world is built, so printing the options never prints a value.
 */
export type LaunchSecrets = Readonly<Record<string, SecretValue>>;

/** Most secrets one launch may be given. */
export const MAX_LAUNCH_SECRETS = 64;

const encoder = new TextEncoder();

function refuse(message: string, name?: string): ForgeError {
  return new ForgeError('FORGE_INVALID_INPUT', message, {
    details: { field: 'secrets', ...(name === undefined ? {} : { secret: name }) },
  });
}

/** The names of a launch's secrets, checked (FORGE_INVALID_INPUT): a name never leaks its value. */
export function launchSecretNames(secrets: LaunchSecrets | undefined): string[] {
  if (secrets === undefined) return [];
  if (secrets === null || typeof secrets !== 'object' || Array.isArray(secrets))
    throw refuse('secrets must be an object of secret values by name');
  const names = Object.keys(secrets);
  if (names.length > MAX_LAUNCH_SECRETS)
    throw refuse(`a launch takes at most ${MAX_LAUNCH_SECRETS} secrets; got ${names.length}`);
  for (const name of names) {
    if (!isSecretName(name))
      throw refuse(`secrets: ${JSON.stringify(String(name).slice(0, 80))} is not a secret name`);
    const value = secrets[name];
    if (!(value instanceof SecretValue))
      throw refuse(
        `secret ${name} must be a SecretValue (as SecretStore.get resolves it), not a plain value`,
        name,
      );
  }
  return names;
}

/** The values the guest world answers `forge.secret_read` with; undefined when there are none. */
export function guestSecretsOf(secrets: LaunchSecrets | undefined): GuestSecrets | undefined {
  const names = launchSecretNames(secrets);
  if (names.length === 0) return undefined;
  const values = new Map<string, Uint8Array>();
  for (const name of names) {
    const bytes = encoder.encode(secrets![name]!.reveal());
    if (bytes.byteLength > MAX_SECRET_VALUE_BYTES)
      throw refuse(`secret ${name} is larger than ${MAX_SECRET_VALUE_BYTES} bytes`, name);
    values.set(name, bytes);
  }
  return values;
}
