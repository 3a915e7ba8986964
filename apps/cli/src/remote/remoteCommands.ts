import type { Command } from 'commander';
import type { CliIo } from '../cliIo';
import type { SessionOf } from './remoteSession';
import { registerRemoteRun } from './commands/remoteRun';
import { registerRemoteContainers } from './commands/remoteContainers';
import { registerRemoteTrace } from './commands/remoteTrace';
import { registerRemoteQuarantine } from './commands/remoteQuarantine';
import { registerRemoteAudit } from './commands/remoteAudit';
import { registerRemoteEvents } from './commands/remoteEvents';
import { registerRemotePolicy } from './commands/remotePolicy';

/** Registers the remote form of one command (or group): a file under remote/commands. */
export type RemoteRegistration = (program: Command, io: CliIo, session: SessionOf) => void;

/**
 * Every command with a remote form, in the order `forgeone --remote URL --help` lists them. A new
 * one (e.g. `policy push|activate`) is one file under remote/commands and one line here; its
 * local form's options are refused with --remote automatically (remoteProgram).
 */
export const remoteRegistrations: readonly RemoteRegistration[] = [
  registerRemoteRun,
  registerRemoteContainers,
  registerRemoteTrace,
  registerRemoteQuarantine,
  registerRemoteAudit,
  registerRemoteEvents,
  registerRemotePolicy,
];
