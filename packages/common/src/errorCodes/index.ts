import { apiErrorCodes } from './api';
import { bootErrorCodes } from './boot';
import { commonErrorCodes } from './common';
import { configErrorCodes } from './config';
import { containerErrorCodes } from './container';
import { coreErrorCodes } from './core';
import { cryptoErrorCodes } from './crypto';
import { daemonErrorCodes } from './daemon';
import { executionErrorCodes } from './execution';
import { observerErrorCodes } from './observer';
import { snapshotErrorCodes } from './snapshot';
import { storageErrorCodes } from './storage';
import { trustErrorCodes } from './trust';
import { schedulerErrorCodes } from './scheduler';
import { secretErrorCodes } from './secret';
import { remoteErrorCodes } from './remote';

/**
 * Every error code ForgeOne can raise, with what it means. Codes are stable API: users and tests
 * match on them. Each subsystem keeps its own file here; add codes, never rename or reuse one.
 */
export const forgeErrorCodes = {
  ...commonErrorCodes,
  ...storageErrorCodes,
  ...cryptoErrorCodes,
  ...configErrorCodes,
  ...trustErrorCodes,
  ...observerErrorCodes,
  ...snapshotErrorCodes,
  ...executionErrorCodes,
  ...coreErrorCodes,
  ...bootErrorCodes,
  ...containerErrorCodes,
  ...daemonErrorCodes,
  ...apiErrorCodes,
  ...schedulerErrorCodes,
  ...secretErrorCodes,
  ...remoteErrorCodes,
} as const;

/** The closed union of ForgeOne error codes. */
export type ForgeErrorCode = keyof typeof forgeErrorCodes;
