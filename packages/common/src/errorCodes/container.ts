/** Codes raised by @forgeone/core's long-lived containers (launch, invoke, pause, stop, remove). */
export const containerErrorCodes = {
  FORGE_CONTAINER_STATE:
    "The container's state does not allow the action (e.g. resume of a running container, a second stop); details name the state and the action.",
  FORGE_CONTAINER_NOT_FOUND: 'No container with that id is in the registry (never launched, or removed).',
} as const;
