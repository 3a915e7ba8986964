import type { Command } from 'commander';
import { isForgeError } from '@forgeone/common';
import { printJson, usageError, type CliIo } from '../../cliIo';
import { integerFlag } from '../../flagValues';
import { oneLine } from '../remoteFormat';
import { remoteError, type SessionOf } from '../remoteSession';
import { followUntilInterrupted } from '../stopSignal';

/** Connection attempts in a row that may fail before `events` gives up. */
const MAX_RECONNECTS = 8;
const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 4000;
/** Codes of a stream that broke in transit (worth a reconnect), not of a refusal. */
const TRANSIENT = new Set(['FORGE_API_UNREACHABLE', 'FORGE_API_TIMEOUT']);

interface EventsFlags {
  types?: string;
  since?: string;
  max?: number;
}

/**
 * `forgeone --remote URL events`: follows the daemon's Server-Sent Events until interrupted; when
 * the stream breaks it reconnects with Last-Event-ID, so no event kept by the daemon is missed
 * or printed twice.
 */
export function registerRemoteEvents(program: Command, io: CliIo, session: SessionOf): void {
  program
    .command('events')
    .description(
      "follow the daemon's kernel events (container states, quarantines, reloads) until interrupted",
    )
    .option(
      '--types <list>',
      'only these event types, comma-separated (e.g. container.state,quarantine.recorded)',
    )
    .option('--since <id>', 'start after this event id (0: every event the daemon still keeps)')
    .option('--max <n>', 'stop after n events', integerFlag('--max', 1, Number.MAX_SAFE_INTEGER))
    .option('--json', 'print each event as one JSON line')
    .action(async (flags: EventsFlags) => {
      const types = flags.types === undefined ? [] : flags.types.split(',').filter(Boolean);
      if (types.some((t) => !/^[a-z.]{1,64}$/.test(t)))
        throw usageError(
          `--types takes event types such as container.state, got ${JSON.stringify(flags.types)}`,
        );
      if (flags.since !== undefined && !/^\d{1,20}$/.test(flags.since))
        throw usageError(`--since takes an event id (decimal digits), got ${JSON.stringify(flags.since)}`);
      const remote = session();
      let printed = 0;
      let lastEventId = flags.since;
      const stop = followUntilInterrupted(
        io,
        () => `${printed} event(s) printed${lastEventId ? `, the last ${lastEventId}` : ''}`,
      );
      let failures = 0;
      while (!stop.signal.aborted) {
        try {
          for await (const event of remote.client.events({
            types,
            signal: stop.signal,
            ...(lastEventId === undefined ? {} : { lastEventId }),
          })) {
            failures = 0;
            if (event.id !== undefined) lastEventId = event.id;
            printEvent(io, event);
            printed += 1;
            if (flags.max !== undefined && printed >= flags.max) return;
          }
          if (stop.signal.aborted) return;
          io.err(
            `note: the event stream ended; reconnecting${lastEventId ? ` after event ${lastEventId}` : ''}`,
          );
        } catch (error) {
          const failure = remoteError(error, remote.target.url);
          if (!isForgeError(failure) || !TRANSIENT.has(failure.code)) throw failure;
          failures += 1;
          if (failures > MAX_RECONNECTS) throw failure;
          io.err(
            `note: ${failure.code}; reconnecting${lastEventId ? ` after event ${lastEventId}` : ''} (attempt ${failures} of ${MAX_RECONNECTS})`,
          );
        }
        await stop.sleep(Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.max(0, failures - 1)));
      }
    });
}

function printEvent(io: CliIo, event: { id: string | undefined; event: string; data: string }): void {
  let data: unknown = event.data;
  try {
    data = JSON.parse(event.data);
  } catch {
    // not JSON: printed as the text it is
  }
  if (io.json) {
    printJson(io, {
      ok: true,
      code: 'OK',
      message: event.event,
      id: event.id ?? null,
      event: event.event,
      data,
    });
    return;
  }
  io.out(
    `${event.id ?? '-'}  ${oneLine(event.event)}  ${typeof data === 'string' ? oneLine(data) : JSON.stringify(data)}`,
  );
}
