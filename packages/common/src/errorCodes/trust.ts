/** Codes raised by @forgeone/trust: policies, decisions, audit and redzone. */
export const trustErrorCodes = {
  FORGE_POLICY_UNKNOWN_SYSCALL: 'A policy or allow-list names a syscall that does not exist.',
  FORGE_CONTAINER_QUARANTINED: 'The container was quarantined by policy and runs no further until released.',
} as const;
