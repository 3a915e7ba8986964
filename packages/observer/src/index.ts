export { TraceRecorder, summarizeTrace, droppedSeqRanges } from './traceRecorder';
export type { TraceRecorderOptions, TraceSummaryRow, SeqRange } from './traceRecorder';
export type { TraceEvent, MemoryWrite } from './traceEvent';
export { TraceStage, STAGE_ROW, ROW_TEMPLATE, ROW_RESULT, ROW_PARAMS, ROW_WRITE_LEN } from './traceStage';
export { DnaTracker } from './dnaTracker';
export type { DnaSlot } from './dnaTracker';
export type { LazyTraceArgs } from './traceColumns';
export { traceToJsonl, parseTraceJsonl, traceFileLimits } from './traceFile';
export type { RecordedTrace, TraceFileHeader, TraceFileEnd } from './traceFile';
