import type { RouteResult, ApiRoutes } from '@forgeone/interface';

export type ContainerInfoJson = RouteResult<ApiRoutes['getContainer']>;

const iso = (ms: number) => new Date(ms).toISOString();

/** Text the daemon holds (a name, a reason) on one line: the CLI's io then escapes what is left. */
export function oneLine(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

/** One container in `ps`: id, state, kind, name, how it ended. */
export function containerLine(c: ContainerInfoJson): string {
  const ended =
    c.exitCode !== undefined && c.exitCode !== null
      ? `exit ${c.exitCode}`
      : c.reason !== undefined
        ? oneLine(c.reason)
        : '';
  return `${c.id}  ${c.state.padEnd(11)}  ${c.kind.padEnd(7)}  ${iso(c.updated_at)}  ${oneLine(c.name)}${ended ? `  ${ended}` : ''}`;
}

/** One trace event of the daemon's durable trace, as `run` prints a call. */
export function traceEventLine(event: Record<string, unknown>, width = 24): string {
  const reasons = Array.isArray(event['reasons']) ? (event['reasons'] as Array<{ message?: unknown }>) : [];
  const why = typeof reasons[0]?.message === 'string' ? reasons[0].message : '';
  const result = event['result'];
  return `#${String(event['seq']).padEnd(3)} ${String(event['syscall']).padEnd(width)}  ${String(event['action']).padEnd(5)}  -> ${result === null || result === undefined ? '-' : String(result)}  ${oneLine(why)}`;
}

/** Whether a trace record of the daemon is a call (a page also holds its start and end records). */
export function isCallEvent(event: Record<string, unknown>): boolean {
  return typeof event['seq'] === 'number' && typeof event['syscall'] === 'string';
}
