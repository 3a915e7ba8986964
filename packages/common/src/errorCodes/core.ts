/** Codes raised by @forgeone/core, @forgeone/interface, @forgeone/diagnostics and the apps. */
export const coreErrorCodes = {
  FORGE_KERNEL_STATE: 'The kernel is not in a state that allows the operation (not booted, shut down).',
  FORGE_CLI_USAGE: 'The command line is malformed: unknown command, option or value.',
  FORGE_INTERRUPTED:
    'The process was asked to stop (SIGINT, SIGTERM); the command stopped its work and closed what it opened first.',
  FORGE_CLI_UNSUPPORTED_OPTION:
    'A run option cannot be honoured by the chosen backend, isolation, mode or module kind; it is refused before anything runs, never ignored.',
  FORGE_CAPABILITY_NOT_GRANTED:
    "A run asked to give a package a resource (a preopened directory) its manifest's capabilities do not grant.",
  FORGE_RESOURCE_EXHAUSTED:
    "A launch (or a container's next call) does not fit a kernel-wide budget; details.budget names it (memoryPages, workers, containersPerIdentity, cpuMs), with details.requested and details.available.",
  FORGE_RESOURCE_BUDGET_REFUSED:
    'A live change of the resource budgets cannot be honoured (more workers than the kernel pool was made with, or a resource admission of its own); the running budgets stay.',
  FORGE_RESOURCE_MISMATCH:
    "A run was handed an allocation (a scheduler's) that does not cover it: another identity, fewer memory pages, or no worker for a worker run.",
} as const;
