import { ForgeError } from '@forgeone/common';

/**
 * Why a local option of a command that has a remote form cannot be honoured with --remote. An
 * option not named here gets the general reason. Read by the refusal of remoteProgram.
 */
const REASONS: Readonly<Record<string, string>> = {
  '--root': 'the daemon verifies packages against the trust root it booted on',
  '--state': 'the daemon keeps its own state',
  '--audit': "the daemon's decisions go to its own audit log (forgeone --remote URL audit tail)",
  '--backend': 'the daemon runs guests on its own V8 backend',
  '--trace': "the daemon keeps the run's trace (forgeone --remote URL trace <id>)",
  '--trace-key': 'the daemon keeps and signs its own traces',
  '--dir': "the daemon's launch takes no host directories (a host path of this machine means nothing there)",
  '--env': "the daemon's launch takes no guest environment",
  '--kv': "the daemon's launch takes no kv namespace",
  '--kv-durability': "the daemon's launch takes no kv namespace",
  '--secret': "the daemon's launch takes no secrets",
  '--secret-key-file': "the daemon's launch takes no secrets",
  '--by': 'the daemon attributes the change to the token that made it',
};

/** Exit-2 refusal of a local-only option on a remote command (FORGE_CLI_UNSUPPORTED_OPTION). */
export function remoteRefusal(option: string, command: string): ForgeError {
  const why =
    REASONS[option] ?? `it is an option of local work; the daemon's API for \`${command}\` does not take it`;
  return new ForgeError(
    'FORGE_CLI_UNSUPPORTED_OPTION',
    `${option} cannot be honoured with --remote: ${why}`,
    {
      details: { option, command, remote: true },
    },
  );
}
