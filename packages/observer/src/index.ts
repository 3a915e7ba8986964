export { TraceRecorder } from './traceRecorder';
export { TraceBatch } from './traceBatch';
export type { TraceRecorderOptions } from './traceRecorder';
export { traceCallCounts, droppedSeqRanges } from './traceSummary';
export type { TraceSummaryRow, SeqRange } from './traceSummary';
export type { TraceEvent, MemoryWrite } from './traceEvent';
export { CallRecorder } from './callRecorder';
export type { CallRecord, CallRecorderOptions, RecordedSyscall, WriteCapture } from './callRecorder';
export { DnaTracker } from './dnaTracker';
export type { LazyTraceArgs } from './internal/traceColumns';
export { traceFileLimits } from './traceFile/traceFileSchema';
export type {
  RecordedTrace,
  TraceFileHeader,
  TraceRunContext,
  TraceFileEnd,
  TraceSignature,
} from './traceFile/traceFileSchema';
export { traceToJsonl, traceLines, signTraceHead, TRACE_FORMAT_VERSION } from './traceFile/traceWriter';
export type { TraceWriteOptions } from './traceFile/traceWriter';
export { TraceReader } from './traceFile/traceReader';
export type { TraceRecord } from './traceFile/traceReader';
export { parseTraceJsonl, readTraceFile } from './traceFile/parseTrace';
export type { ParsedTrace } from './traceFile/parseTrace';
export { traceFileRecords } from './traceFile/traceFileStream';
export { verifyTraceFile, verifyTraceSignature } from './traceFile/traceVerify';
export { signTraceFile } from './traceFile/traceSign';
export type { TraceVerification, VerifyTraceOptions } from './traceFile/traceVerify';
export { TraceDna } from './traceDna';
export { alignSequences } from './diff/sequenceAlignment';
export type { AlignedRun, Alignment, AlignOptions } from './diff/sequenceAlignment';
export { DiffSide, diffSides, diffTraces } from './diff/traceDiff';
export type {
  CountDelta,
  DiffCall,
  DiffField,
  DiffOptions,
  DiffSideSummary,
  TraceDiff,
  TraceDiffEntry,
} from './diff/traceDiff';
export { diffTraceFiles } from './diff/diffTraceFiles';
export { LlmSummarySchema } from './summary/llmSummary';
export type { LlmSummary } from './summary/llmSummary';
export {
  summarizeTrace,
  summarizeTraceFile,
  formatSummary,
  summaryBudgetLimits,
  DEFAULT_SUMMARY_BUDGET,
  SUMMARY_TOKENIZER,
} from './summary/summarizeTrace';
export type { SummaryOptions } from './summary/summarizeTrace';
export type { SummaryInput } from './summary/summaryFacts';
export { TraceSink } from './store/traceSink';
export type { TraceSinkOptions, TraceSinkEnd } from './store/traceSink';
export { TraceStore } from './store/traceStore';
export type { TracePage, StoredTraceInfo } from './store/traceStore';
export type { TraceQuery } from './store/traceQuery';
export { traceStoreLimits, checkTraceRetention } from './store/traceRetention';
export type { TraceRetention } from './store/traceRetention';
export { TRACE_INDEX_NAMESPACE, traceLogName } from './store/traceIndex';
export type { TraceIndex, StoredTraceHeader, TraceTrimmed, TraceLost } from './store/traceIndex';
export {
  SNAPSHOT_PAGE_BYTES,
  SNAPSHOT_MAX_PAGES,
  SNAPSHOT_FORMAT_VERSION,
  SnapshotContextSchema,
  SnapshotManifestSchema,
} from './snapshot/snapshotContext';
export type {
  SnapshotContext,
  SnapshotManifest,
  SnapshotGlobal,
  SnapshotFd,
  SnapshotHostState,
  SnapshotChunk,
  SnapshotSignature,
  MemoryRegion,
} from './snapshot/snapshotContext';
export { encodeSnapshot, SNAPSHOT_MAGIC } from './snapshot/snapshotEncode';
export type { EncodeSnapshotOptions, EncodedSnapshot } from './snapshot/snapshotEncode';
export { decodeSnapshot, signSnapshot, MAX_MANIFEST_BYTES } from './snapshot/snapshotDecode';
export type { DecodeSnapshotOptions, DecodedSnapshot } from './snapshot/snapshotDecode';
export { verifySnapshotSignature, snapshotSignatureMessage } from './snapshot/snapshotSign';
