import { emptyExecutionDna, type ExecutionDNA, type SyscallRequest } from '@forgeone/common';
import type { EvaluationContext } from './evalState';

/** What the enforcer remembers about one container: enough for markers and the trust score. */
export interface ContainerProfile {
  /** Calls per syscall, total and refused calls, kept as an execution DNA (without transitions). */
  readonly dna: ExecutionDNA & { syscallCounts: Record<string, number> };
  /** Calls decided per rule (`node/rule`). */
  readonly ruleHits: Record<string, number>;
  quarantines: number;
  /** The enforcer's per-container evaluation context, created on first use. */
  context?: EvaluationContext & { request: SyscallRequest | undefined };
}

const MAX_CONTAINERS = 10_000;

/** Profiles by container id; the oldest is forgotten past 10,000 containers. */
export class ContainerProfiles {
  readonly #profiles = new Map<string, ContainerProfile>();
  // The profile last asked for: an enforcer usually serves one container's gate.
  #lastId: string | undefined;
  #last: ContainerProfile | undefined;

  get(containerId: string): ContainerProfile {
    if (containerId === this.#lastId) return this.#last!;
    let profile = this.#profiles.get(containerId);
    if (!profile) {
      if (this.#profiles.size >= MAX_CONTAINERS) {
        const oldest = this.#profiles.keys().next().value;
        if (oldest !== undefined) this.forget(oldest);
      }
      profile = {
        dna: { ...emptyExecutionDna(containerId), syscallCounts: {} },
        ruleHits: {},
        quarantines: 0,
      };
      this.#profiles.set(containerId, profile);
    }
    this.#lastId = containerId;
    this.#last = profile;
    return profile;
  }

  /** Counts one decided call. */
  record(
    profile: ContainerProfile,
    syscall: string,
    time: number,
    refused: boolean,
    rule: string | undefined,
  ): void {
    const dna = profile.dna as { -readonly [K in keyof ExecutionDNA]: ExecutionDNA[K] } & {
      syscallCounts: Record<string, number>;
    };
    dna.syscallCounts[syscall] = (dna.syscallCounts[syscall] ?? 0) + 1;
    dna.totalCalls += 1;
    if (refused) dna.deniedCalls += 1;
    dna.lastSyscall = syscall;
    dna.firstSeen ??= time;
    dna.lastSeen = time;
    if (rule !== undefined) profile.ruleHits[rule] = (profile.ruleHits[rule] ?? 0) + 1;
  }

  forget(containerId: string): void {
    this.#profiles.delete(containerId);
    if (containerId === this.#lastId) {
      this.#lastId = undefined;
      this.#last = undefined;
    }
  }
}
