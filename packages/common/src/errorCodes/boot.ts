/** Codes raised when a kernel boots (@forgeone/core's boot) and by the boot mode it runs in. */
export const bootErrorCodes = {
  FORGE_BOOT_PARAMS: 'The boot parameters are malformed: an unknown mode, field or value.',
  FORGE_BOOT_NO_ROOT: 'The boot requires a trust root (requireRoot) and none was given.',
  FORGE_BOOT_ROOT_REVOKED:
    "The trust root's own root role meets its threshold only with keys its revocation list revokes; rotate to a root signed by unrevoked keys.",
  FORGE_BOOT_REVOCATION_UNKNOWN:
    'The boot requires a known revocation status (requireRevocation) and the revocation list could not be read or verified.',
  FORGE_BOOT_SELFTEST_FAILED:
    'The self-test failed, so the kernel did not boot; boot in recovery mode to inspect and repair.',
  FORGE_KERNEL_RECOVERY:
    'The kernel booted in recovery mode: no container is launched from a package (self-test, audit verify and repair only).',
  FORGE_KERNEL_MAINTENANCE:
    'The kernel booted in maintenance mode: running containers drain and no new launch is accepted.',
} as const;
