import { ForgeError } from '@forgeone/common';

/** What the graph check needs of a workload. */
export interface DependencyNode {
  readonly id: string;
  readonly dependsOn?: readonly string[];
}

/**
 * Refuses a batch of workloads that cannot form a DAG with those already submitted: a name used
 * twice (FORGE_SCHEDULER_DUPLICATE), a dependency on a name nobody submitted
 * (FORGE_SCHEDULER_UNKNOWN_DEPENDENCY), or a cycle (FORGE_SCHEDULER_CYCLE, named `a → b → a`).
 * Workloads already submitted cannot depend on new ones, so a cycle lies inside the batch.
 * O(nodes + edges), iterative (a chain of 100,000 does not exhaust the stack).
 */
export function checkDependencies(batch: readonly DependencyNode[], known: (id: string) => boolean): void {
  const byId = new Map<string, DependencyNode>();
  for (const node of batch) {
    if (byId.has(node.id) || known(node.id)) {
      throw new ForgeError('FORGE_SCHEDULER_DUPLICATE', `workload '${node.id}' is submitted twice`, {
        details: { workload: node.id },
      });
    }
    byId.set(node.id, node);
  }
  let inside = false;
  for (const node of batch) {
    for (const dep of node.dependsOn ?? []) {
      if (byId.has(dep)) inside = true;
      else if (!known(dep)) {
        throw new ForgeError(
          'FORGE_SCHEDULER_UNKNOWN_DEPENDENCY',
          `workload '${node.id}' depends on '${dep}', which is not a submitted workload`,
          { details: { workload: node.id, dependency: dep } },
        );
      }
    }
  }
  // Only dependencies inside the batch can close a cycle.
  const cycle = inside ? findCycle(byId) : undefined;
  if (cycle !== undefined) {
    throw new ForgeError(
      'FORGE_SCHEDULER_CYCLE',
      `the workloads depend on each other in a cycle: ${cycle.join(' → ')}`,
      {
        details: { cycle: cycle.join(' → ') },
      },
    );
  }
}

/** The first cycle among `nodes` (as ids, the first repeated at the end), or undefined. */
function findCycle(nodes: ReadonlyMap<string, DependencyNode>): string[] | undefined {
  const DONE = 2;
  const ON_PATH = 1;
  const color = new Map<string, number>();
  for (const start of nodes.keys()) {
    if (color.has(start) || (nodes.get(start)!.dependsOn ?? []).length === 0) continue;
    // The path from `start`, each step with the index of the next dependency to look at.
    const path: Array<{ id: string; next: number }> = [{ id: start, next: 0 }];
    color.set(start, ON_PATH);
    while (path.length > 0) {
      const top = path[path.length - 1]!;
      const deps = nodes.get(top.id)!.dependsOn ?? [];
      if (top.next >= deps.length) {
        color.set(top.id, DONE);
        path.pop();
        continue;
      }
      const dep = deps[top.next++]!;
      if (!nodes.has(dep)) continue; // submitted before: it cannot lead back into the batch
      const seen = color.get(dep);
      if (seen === ON_PATH) {
        const from = path.findIndex((step) => step.id === dep);
        return [...path.slice(from).map((step) => step.id), dep];
      }
      if (seen === undefined) {
        color.set(dep, ON_PATH);
        path.push({ id: dep, next: 0 });
      }
    }
  }
  return undefined;
}
