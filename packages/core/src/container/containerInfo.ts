import type { ContainerId } from '@forgeone/common';
import type { Isolation } from '@forgeone/execution';
import { containerStates, type ContainerState } from './containerState';

/** A command runs `_start` to completion; a service (reactor) stays up and serves `invoke` calls. */
export type ContainerKind = 'command' | 'service';

/** What the registry knows of a container: its last state and when it changed. */
export interface ContainerInfo {
  readonly id: ContainerId;
  readonly name: string;
  readonly kind: ContainerKind;
  readonly isolation: Isolation;
  /** Who it runs as (identity subject). */
  readonly subject: string;
  readonly moduleSha256: string;
  readonly state: ContainerState;
  /** Why it failed (an error code, or `interrupted` after the kernel died) or was quarantined. */
  readonly reason?: string;
  /** How a command (or a service that called `proc_exit`) ended. */
  readonly exitCode?: number | null;
  readonly created_at: number;
  readonly updated_at: number;
}

/** Which containers `list` returns: every field given must match. */
export interface ContainerFilter {
  readonly state?: ContainerState | readonly ContainerState[];
  readonly kind?: ContainerKind;
  readonly subject?: string;
  readonly name?: string;
}

/** True when `info` passes `filter`. */
export function matchesFilter(info: ContainerInfo, filter: ContainerFilter | undefined): boolean {
  if (filter === undefined) return true;
  const { state, kind, subject, name } = filter;
  if (state !== undefined && !(typeof state === 'string' ? [state] : state).includes(info.state))
    return false;
  return (
    (kind === undefined || info.kind === kind) &&
    (subject === undefined || info.subject === subject) &&
    (name === undefined || info.name === name)
  );
}

/** A stored record read back as a ContainerInfo, or undefined when it is not one. */
export function containerInfoOf(value: unknown): ContainerInfo | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const ok =
    typeof v['id'] === 'string' &&
    typeof v['name'] === 'string' &&
    (v['kind'] === 'command' || v['kind'] === 'service') &&
    (v['isolation'] === 'inline' || v['isolation'] === 'worker') &&
    typeof v['subject'] === 'string' &&
    typeof v['moduleSha256'] === 'string' &&
    (containerStates as readonly unknown[]).includes(v['state']) &&
    (v['reason'] === undefined || typeof v['reason'] === 'string') &&
    (v['exitCode'] === undefined || v['exitCode'] === null || typeof v['exitCode'] === 'number') &&
    typeof v['created_at'] === 'number' &&
    typeof v['updated_at'] === 'number';
  return ok ? (value as ContainerInfo) : undefined;
}
