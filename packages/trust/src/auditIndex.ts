import type { JsonValue, StorageOps } from '@forgeone/common';
import { isKernelAuditEntry, type AuditEntry } from './kernelAuditEntry';

/**
 * Where to find a decision's or an API request's audit record without reading the chain: written
 * in the same transaction as the records it points at, one index record per run of consecutive
 * calls of one container (a batch of a busy container costs one record, not one per call) and one
 * per API request. The index is only a hint: a lookup reads the record it points at and checks
 * that it is the one asked for, so a damaged index finds nothing rather than a wrong record.
 */
export function auditIndexNamespace(log: string): string {
  return `${log}.index`;
}

const PAD = 16;
const MAX_REQUEST_ID = 200;

function decisionKey(containerId: string, traceSeq: number): string {
  return `d/${containerId}/${String(traceSeq).padStart(PAD, '0')}`;
}

function requestKey(requestId: string): string {
  return `r/${requestId}`;
}

interface Run {
  containerId: string;
  fromTraceSeq: number;
  toTraceSeq: number;
  auditSeq: number;
}

/** The index records of a batch about to be stored (`seq` is each entry's place in the chain). */
export function auditIndexWrites(
  batch: readonly { readonly seq: number; readonly entry: AuditEntry }[],
): { key: string; value: JsonValue }[] {
  const writes: { key: string; value: JsonValue }[] = [];
  let run: Run | undefined;
  const close = (): void => {
    if (run === undefined) return;
    writes.push({
      key: decisionKey(run.containerId, run.toTraceSeq),
      value: { from: run.fromTraceSeq, auditSeq: run.auditSeq },
    });
    run = undefined;
  };
  for (const { seq, entry } of batch) {
    if (isKernelAuditEntry(entry)) {
      close();
      const requestId = entry.facts['requestId'];
      if (
        entry.kernel === 'api.request' &&
        typeof requestId === 'string' &&
        requestId.length <= MAX_REQUEST_ID
      )
        writes.push({ key: requestKey(requestId), value: { auditSeq: seq } });
      continue;
    }
    const traceSeq = entry.traceSeq;
    if (traceSeq === undefined) {
      close();
      continue;
    }
    if (
      run !== undefined &&
      run.containerId === entry.containerId &&
      traceSeq === run.toTraceSeq + 1 &&
      seq === run.auditSeq + (run.toTraceSeq - run.fromTraceSeq) + 1
    ) {
      run.toTraceSeq = traceSeq;
      continue;
    }
    close();
    run = { containerId: entry.containerId, fromTraceSeq: traceSeq, toTraceSeq: traceSeq, auditSeq: seq };
  }
  close();
  return writes;
}

/** The audit sequence number the index gives for call `traceSeq` of `containerId`, if any. */
export async function indexedDecisionSeq(
  store: Pick<StorageOps, 'listRecords'>,
  log: string,
  containerId: string,
  traceSeq: number,
): Promise<number | undefined> {
  // The first run ending at or after traceSeq: keys sort by their run's last call.
  const [found] = await store.listRecords(auditIndexNamespace(log), {
    prefix: `d/${containerId}/`,
    after: decisionKey(containerId, traceSeq - 1),
    limit: 1,
  });
  const value = found?.value as { from?: unknown; auditSeq?: unknown } | undefined;
  if (typeof value?.from !== 'number' || typeof value.auditSeq !== 'number') return undefined;
  if (value.from > traceSeq) return undefined;
  return value.auditSeq + (traceSeq - value.from);
}

/** The audit sequence number of an API request's record, if the index has it. */
export async function indexedRequestSeq(
  store: Pick<StorageOps, 'getRecord'>,
  log: string,
  requestId: string,
): Promise<number | undefined> {
  if (requestId.length === 0 || requestId.length > MAX_REQUEST_ID) return undefined;
  const found = await store.getRecord(auditIndexNamespace(log), requestKey(requestId));
  const auditSeq = (found?.value as { auditSeq?: unknown } | undefined)?.auditSeq;
  return typeof auditSeq === 'number' ? auditSeq : undefined;
}
