import { ForgeError } from '@forgeone/common';

/**
 * Thrown by a command line that has no remote form. runCli decides what it means: with --remote
 * on the command line, FORGE_CLI_NO_REMOTE_FORM; chosen only by $FORGEONE_URL (a default daemon),
 * the command runs locally, as it would without the variable.
 */
export class NoRemoteForm extends Error {
  constructor(readonly command: string) {
    super(`no remote form: ${command}`);
    this.name = 'NoRemoteForm';
  }

  /** The refusal printed when --remote was given. */
  toForgeError(): ForgeError {
    return new ForgeError(
      'FORGE_CLI_NO_REMOTE_FORM',
      `\`forgeone ${this.command}\` has no remote form: it works on local files; run it without --remote`,
      { details: { command: this.command } },
    );
  }
}
