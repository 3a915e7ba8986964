import { open, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { ForgeError } from '@forgeone/common';
import { TraceReader, type TraceRecord } from './traceReader';
import { traceFileLimits } from './traceFileSchema';

/** Bytes read at a time from a trace file. */
const CHUNK_BYTES = 1024 * 1024;

function unreadable(path: string, message: string): never {
  throw new ForgeError('FORGE_TRACE_INVALID', `${path}: ${message}`, { details: { path } });
}

/** Opens a trace file that is a regular file within the size bound, or says why not in one line. */
async function openTraceFile(path: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new ForgeError('FORGE_TRACE_NOT_FOUND', `${path}: no such trace file`, { details: { path } });
    return unreadable(path, `cannot read it (${code ?? 'error'})`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) unreadable(path, 'not a file');
    if (info.size > traceFileLimits.maxFileBytes)
      unreadable(path, `${info.size} bytes, over the trace size limit of ${traceFileLimits.maxFileBytes}`);
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * The records of a trace file, read in chunks and checked one line at a time by `reader`
 * ({@link TraceReader}: bounds, order, hash chain): memory stays at one chunk and one line
 * (itself bounded), however long the file. The reader is left at the end of the file, for its
 * `head`, `ended` and counts.
 */
export async function* traceFileRecords(
  path: string,
  reader: TraceReader = new TraceReader(),
): AsyncGenerator<TraceRecord> {
  const handle = await openTraceFile(path);
  const decoder = new StringDecoder('utf8');
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  let pending = '';
  let total = 0;
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      // The file may grow while it is read: the bound holds for what is read, not what stat said.
      if (total > traceFileLimits.maxFileBytes)
        unreadable(path, `over the trace size limit of ${traceFileLimits.maxFileBytes} bytes`);
      pending += decoder.write(buffer.subarray(0, bytesRead));
      let start = 0;
      for (let newline = pending.indexOf('\n'); newline !== -1; newline = pending.indexOf('\n', start)) {
        yield reader.next(pending.slice(start, newline));
        start = newline + 1;
      }
      pending = pending.slice(start);
      // A line longer than the bound is refused as soon as it is, not after it was all read.
      if (pending.length > traceFileLimits.maxLineChars) reader.next(pending);
    }
    pending += decoder.end();
    if (pending !== '') yield reader.next(pending);
    if (reader.lines === 0)
      throw new ForgeError('FORGE_TRACE_INVALID', `trace line 1: ${path} is empty`, { details: { line: 1 } });
  } finally {
    await handle.close();
  }
}
