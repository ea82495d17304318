/**
 * Where batches go, as capture and the monitor see it: a sink stores a batch and says how far the
 * data is now safely held. CouchDB (feed or records mode) and extracts for the second host are sinks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { countStored, newStoreCounters } from "./sink.ts";
 * const counters = newStoreCounters();
 * countStored(counters, { generation: 0, end: 9, rows: 1, rejected: [], conflicts: 1 });
 * assert.deepEqual([counters.batches, counters.rowsPushed, counters.conflictsResolved], [1, 1, 1]);
 * ```
 * @module
 */
import { retry } from "../base/retry.ts";
import type { Batch } from "./batch.ts";
import { isPermanent } from "../base/errors.ts";
import type { RejectedLine } from "../format/reports.ts";
import type { FileIdentity } from "../source/identity.ts";
import type { Logger } from "../base/log.ts";

/** Where batches go. A sink resolves only once the batch is durably held. */
export interface BatchSink {
  /**
   * Stores a batch: the generation it went under and where the next batch starts. `turn`, when
   * given, settles once the batch sent before this one is stored: a sink that must know that
   * outcome first (CouchDB: a conflict may say more is stored) sends only then.
   */
  store(batch: Batch, turn?: Promise<void>): Promise<SinkResult>;
  /**
   * How many batches may be stored at once (1 when absent). More than one only where a later batch
   * stored before an earlier one can never hide a gap: each line has its own id, and `findPosition`
   * looks back that many batches.
   */
  inFlight?: number;
  /** Who answers `findPosition`, for messages: "CouchDB", "the receiver at URL". */
  positionHolder?: string;
  /**
   * One quick look, never retried, at whether the sink could take a batch now (for `/healthz`,
   * while no batch would tell): `null` when it could, else why not.
   */
  probe?(): Promise<string | null>;
  /** Where an earlier run got to in this file, when the cache file is gone and the sink can tell. */
  findPosition?(
    source: string,
    file: FileIdentity,
  ): Promise<{ generation: number; offset: number } | null>;
}

/** What a sink did with a batch. */
export interface SinkResult {
  /** The generation the batch went under. */
  generation: number;
  /** Where the next batch starts. */
  end: number;
  /** Rows or documents stored. */
  rows?: number;
  /** Lines stored as rejected. */
  rejected?: RejectedLine[];
  /** Bytes an earlier run had stored already. */
  skippedBytes?: number;
  /** Conflicts met and resolved. */
  conflicts?: number;
}

/**
 * Stores one batch, retrying every failure but a permanent one (`errors.ts`) with backoff, for
 * `retryForMs` (default: as long as it takes): the stored result, or `null` once `signal` stops
 * the program. `failed` hears of each failed attempt (the first one is worth a log line; the rest
 * are counted). Past `retryForMs`, the last failure is thrown as a {@linkcode PermanentError}.
 */
export async function storeRetrying(
  store: BatchSink["store"],
  batch: Batch,
  signal: AbortSignal,
  failed: (error: Error, attempt: number) => void,
  retryForMs = Infinity,
  turn?: Promise<void>,
): Promise<SinkResult | null> {
  try {
    return await retry(() => store(batch, turn), {
      retryForMs,
      minDelayMs: 500,
      signal,
      onRetry: (error, attempt) => failed(error as Error, attempt),
    });
  } catch (error) {
    if (signal.aborted && !isPermanent(error)) return null;
    throw error;
  }
}

/** The counters every stored batch moves, in capture and in the monitor alike. */
export interface StoreCounters {
  /** Rows (or records) stored. */
  rowsPushed: number;
  /** Lines stored as rejected. */
  linesRejected: number;
  /** Batches acknowledged. */
  batches: number;
  /** Conflicts met and resolved by reading what CouchDB holds. */
  conflictsResolved: number;
  /** Bytes found stored already. */
  bytesSkipped: number;
  /** When the last batch was acknowledged (ms since the epoch; 0: none yet). */
  lastAckAt: number;
}

/** Counters at zero. */
export function newStoreCounters(): StoreCounters {
  return {
    rowsPushed: 0,
    linesRejected: 0,
    batches: 0,
    conflictsResolved: 0,
    bytesSkipped: 0,
    lastAckAt: 0,
  };
}

/** Counts one acknowledged batch. */
export function countStored(counters: StoreCounters, result: SinkResult): void {
  counters.batches++;
  counters.rowsPushed += result.rows ?? 0;
  counters.linesRejected += result.rejected?.length ?? 0;
  counters.conflictsResolved += result.conflicts ?? 0;
  counters.bytesSkipped += result.skippedBytes ?? 0;
  counters.lastAckAt = Date.now();
}

/**
 * Logs one stored batch at debug level: its range, what it held, what was met, how long it took.
 * The same fields go into a JSON line.
 */
export function logStoredBatch(
  log: Logger,
  batch: Batch,
  result: SinkResult,
  ms: number,
): void {
  log.debug(`stored ${batch.source.id} bytes ${batch.start}-${result.end}`, {
    generation: result.generation,
    start: batch.start,
    end: result.end,
    rows: result.rows ?? 0,
    rejected: result.rejected?.length ?? 0,
    conflicts: result.conflicts ?? 0,
    skippedBytes: result.skippedBytes ?? 0,
    ms: Math.round(ms),
  });
}

/** Why a program stops, for its last line: the signal's name, or what it was asked to do. */
export function stopReason(signal: AbortSignal, done: string): string {
  return signal.aborted ? `stopped by ${String(signal.reason ?? "a signal")}` : done;
}

/** The fields of the line a program logs as it stops: what it stored, and in how long. */
export function summaryFields(counters: StoreCounters, startedAt: number): Record<string, unknown> {
  return {
    rows: counters.rowsPushed,
    rejected: counters.linesRejected,
    batches: counters.batches,
    conflicts: counters.conflictsResolved,
    skippedBytes: counters.bytesSkipped,
    seconds: Math.round((Date.now() - startedAt) / 100) / 10,
  };
}

/**
 * Logs rejected lines with their source and offset, at most `perMinute` a minute, then one line
 * saying how many more there were: a flood of bad input never floods the log.
 */
export function rejectionLogger(
  log: Logger,
  perMinute = 20,
): (source: string, lines: RejectedLine[]) => void {
  let window = { start: 0, logged: 0, suppressed: 0 };
  return (source, lines) => {
    const now = Date.now();
    if (now - window.start > 60_000) {
      if (window.suppressed > 0) {
        log.warn(`${window.suppressed} more rejected lines in the last minute were not logged`);
      }
      window = { start: now, logged: 0, suppressed: 0 };
    }
    for (const line of lines) {
      if (window.logged++ < perMinute) {
        log.warn(`rejected line: ${line.reason}`, { source, offset: line.offset });
      } else window.suppressed++;
    }
  };
}
