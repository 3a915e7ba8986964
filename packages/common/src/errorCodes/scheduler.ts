/** Codes raised by the scheduler of @forgeone/core and by `forgeone schedule`'s workload files. */
export const schedulerErrorCodes = {
  FORGE_SCHEDULER_QUEUE_FULL:
    'The scheduler queue holds as many workloads as its depth allows; submit again once some have started or finished (backpressure).',
  FORGE_SCHEDULER_CYCLE:
    'The workloads depend on each other in a cycle (the message names it: a → b → a); nothing was submitted.',
  FORGE_SCHEDULER_UNKNOWN_DEPENDENCY:
    'A workload depends on a workload that was never submitted (or whose record is no longer kept); nothing was submitted.',
  FORGE_SCHEDULER_DUPLICATE: 'Two workloads have the same name (id); names are unique within a scheduler.',
  FORGE_SCHEDULER_NEVER_FITS:
    'A workload asks for more than a kernel budget holds in total, so it could never start; it is refused rather than queued (details.budget names the budget).',
  FORGE_SCHEDULER_POLICY:
    'The scheduling policy is unknown, or a custom policy broke its contract (returned a workload that was not queued).',
  FORGE_SCHEDULER_CLOSED: 'The scheduler was closed; it accepts no more workloads.',
  FORGE_SCHEDULE_FILE_INVALID:
    'A workload file is not valid: not YAML, an unknown field or priority, a missing name or module, or a bad run option (the message names file, line and field).',
  FORGE_SCHEDULE_MODULE_MISSING: 'A workload file names a module or package file that does not exist.',
  FORGE_SCHEDULE_INCOMPLETE:
    '`forgeone schedule` ran its workloads and not every one succeeded (some failed or were cancelled); the report says which and why.',
} as const;
