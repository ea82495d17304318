/**
 * The monitor loop: every extract that appears in the drop directory, in order of source,
 * generation and start offset, is formatted and stored in CouchDB; only then is it moved to
 * `done/` (or deleted). A file that cannot be an extract goes to `rejected/` with its reason.
 *
 * @example
 * ```ts
 * import { runMonitor } from "./monitor.ts";
 * await runMonitor({ dir: "/srv/drop", once: false, done: "keep", store: (b) => storeBatch(db, b, opts), maxLineBytes: 1 << 20 }, log, signal);
 * ```
 * @module
 */
import { hostname } from "node:os";
import { join } from "node:path";
import { type Batch, LONG_LINE_NOTE_BYTES } from "./batch.ts";
import {
  countStored,
  logStoredBatch,
  newStoreCounters,
  rejectionLogger,
  type SinkResult,
  stopReason,
  type StoreCounters,
  storeRetrying,
  summaryFields,
} from "./sink.ts";
import {
  DONE_FOLDER,
  type ExtractFile,
  listExtracts,
  listMisnamed,
  moveInto,
  rejectFile,
} from "./extracts.ts";
import { type FileRef, LEGACY_EXTRACT_IDENTITY } from "./identity.ts";
import { lineRuns, LineScanner } from "./lines.ts";
import type { Logger } from "./log.ts";
import { FolderWatch } from "./watch.ts";
import { InFlight } from "./window.ts";

/** Monitor settings. */
export interface MonitorSettings {
  dir: string;
  once: boolean;
  done: "keep" | "delete";
  /** Stores one batch (CouchDB, feed or records mode). */
  store: (batch: Batch) => Promise<SinkResult>;
  maxLineBytes: number;
  /** Most lines in one stored batch. */
  batchLines: number;
  /** How many batches may be stored at once (the sink's `inFlight`; 1 when absent). */
  inFlight?: number;
  /** How often the folder is scanned without a filesystem event; default 1000 ms. */
  pollMs?: number;
  /** How long a failing store is retried before the monitor stops with its error; default forever. */
  retryForMs?: number;
}

/** Counters, for logs and metrics. */
export interface MonitorStats extends StoreCounters {
  extractsDone: number;
  extractsRejected: number;
  extractsPending: number;
}

/** A fresh set of counters. */
export function newMonitorStats(): MonitorStats {
  return { ...newStoreCounters(), extractsDone: 0, extractsRejected: 0, extractsPending: 0 };
}

/**
 * Which file an extract's lines came from: its file id (SPEC §4), which the stored documents keep
 * as `source.file`. An extract named in the earlier form has none: every extract of its source and
 * generation then counts as the same file, as before.
 */
export function extractFile(extract: ExtractFile): FileRef {
  return extract.fileId ? { id: extract.fileId } : LEGACY_EXTRACT_IDENTITY;
}

/**
 * How far the extracts of file `fileId` of `source` are held, for `GET /position`: from what
 * CouchDB holds (`stored`), on through the extracts of that file waiting in the drop directory or
 * kept in `done/`, as long as they follow on without a gap. `null` when nothing of it is held.
 */
export async function heldPosition(
  dir: string,
  source: string,
  fileId: string,
  stored: { generation: number; offset: number } | null,
): Promise<{ generation: number; offset: number } | null> {
  const extracts = [
    ...await listExtracts(dir),
    ...await listExtracts(join(dir, DONE_FOLDER)).catch(() => []),
  ].filter((e) => e.source === source && e.fileId === fileId)
    .sort((a, b) => a.start - b.start);
  let held = stored;
  for (const extract of extracts) {
    const at = held?.offset ?? 0;
    if (extract.start <= at && extract.end > at) {
      held = { generation: extract.generation, offset: extract.end };
    }
  }
  return held;
}

/** Why a file named like an extract is not one, or `null` when it is fine to read. */
async function refusal(extract: ExtractFile): Promise<string | null> {
  if (extract.long) {
    const most = Math.min(LONG_LINE_NOTE_BYTES, extract.end - extract.start);
    return extract.size > 0 && extract.size <= most
      ? null
      : `its size (${extract.size} bytes) is not that of a note for an over-long line (1 to ${most} bytes)`;
  }
  if (extract.size !== extract.end - extract.start) {
    return `its size (${extract.size} bytes) is not the range its name gives (${
      extract.end - extract.start
    } bytes)`;
  }
  try {
    using file = await Deno.open(extract.path);
    const last = new Uint8Array(1);
    await file.seek(-1, Deno.SeekMode.End);
    await file.read(last);
    if (last[0] !== 10) {
      return "it does not end with a whole line (an extract holds whole lines only)";
    }
  } catch (error) {
    return `it cannot be read: ${(error as Error).message}`;
  }
  return null;
}

/** Runs the monitor until `signal` aborts (or, with `once`, until the folder is empty). */
export async function runMonitor(
  settings: MonitorSettings,
  log: Logger,
  signal: AbortSignal,
  stats: MonitorStats = newMonitorStats(),
): Promise<number> {
  const { dir } = settings;
  const host = hostname();
  const logRejected = rejectionLogger(log);
  const watch = new FolderWatch(dir, (p) => !p.includes("/.") || p.endsWith(".log"));
  if (!watch.watching) {
    log.warn(`cannot watch ${dir}; scanning it every ${settings.pollMs ?? 1000} ms`);
  }

  /** Stores one extract, batch by batch, then moves it out of the way. */
  async function processExtract(extract: ExtractFile): Promise<void> {
    const why = await refusal(extract);
    if (why) {
      await rejectFile(dir, extract.name, `${extract.name}: ${why}`);
      stats.extractsRejected++;
      log.warn(`${extract.name} moved to ${dir}/rejected: ${why}`);
      return;
    }
    using file = await Deno.open(extract.path);
    const readAt = (await file.stat()).mtime ?? new Date();
    const source = { id: extract.source, host, path: extract.path, file: extractFile(extract) };
    if (extract.long) {
      // One line longer than the limit: its first bytes came, and it is stored as rejected.
      const head = await Deno.readFile(extract.path);
      const line = {
        kind: "oversized" as const,
        offset: extract.start,
        length: extract.end - extract.start,
        head,
      };
      const batch: Batch = {
        source,
        generation: extract.generation,
        start: extract.start,
        end: extract.end,
        data: new Uint8Array(0),
        oversized: line,
        readAt,
      };
      const result = await storeRetrying(settings.store, batch, signal, (error, attempt) => {
        if (attempt === 0) log.warn(`${extract.name}: ${error.message}; retrying`);
      }, settings.retryForMs);
      if (!result) return;
      countStored(stats, result);
      if (result.rejected?.length) logRejected(extract.source, result.rejected);
      await finish(extract);
      return;
    }
    const scanner = new LineScanner(file, 0, { maxLineBytes: settings.maxLineBytes });
    let skippedBytes = 0;
    // Batches of the extract in flight, oldest first: the extract is moved away only once all
    // of it is stored. Each holds a copy of its lines, since the scanner's buffer is reused.
    const window = new InFlight<{ batch: Batch; sentAt: number }, SinkResult | null>(
      settings.inFlight ?? 1,
    );
    let sentTo = extract.start;
    let storedTo = extract.start;
    /** Settles the oldest batch in flight; false when the monitor stopped. */
    const settleOldest = async (): Promise<boolean> => {
      const settled = await window.shift();
      if (!settled.ok) throw settled.error;
      const result = settled.value;
      if (!result) return false;
      logStoredBatch(log, settled.item.batch, result, performance.now() - settled.item.sentAt);
      countStored(stats, result);
      skippedBytes += result.skippedBytes ?? 0;
      if (result.rejected?.length) logRejected(extract.source, result.rejected);
      storedTo = Math.max(storedTo, result.end);
      return true;
    };
    /** Waits for every batch in flight; false when the monitor stopped. */
    const settleAll = async (): Promise<boolean> => {
      let ok = true;
      while (window.size > 0) {
        if (ok) ok = await settleOldest();
        else await window.shift();
      }
      return ok;
    };
    chunks: for (let item = await scanner.next(); item; item = await scanner.next()) {
      const runs = item.kind === "lines" ? lineRuns(item.bytes, settings.batchLines) : [[0, 0]];
      for (const [from, to] of runs) {
        const start = extract.start + item.offset + from;
        const batch: Batch = item.kind === "lines"
          ? {
            source,
            generation: extract.generation,
            start,
            end: start + to - from,
            data: window.limit > 1 ? item.bytes.slice(from, to) : item.bytes.subarray(from, to),
            oversized: null,
            readAt,
          }
          : {
            source,
            generation: extract.generation,
            start,
            end: start + item.length,
            data: new Uint8Array(0),
            oversized: { ...item, offset: start },
            readAt,
          };
        window.push(
          { batch, sentAt: performance.now() },
          storeRetrying(settings.store, batch, signal, (error, attempt) => {
            if (attempt === 0) log.warn(`${extract.name}: ${error.message}; retrying`);
          }, settings.retryForMs),
        );
        sentTo = batch.end;
        // One batch at most is being made while the others are stored.
        while (window.full) {
          if (!await settleOldest()) {
            await settleAll();
            return; // stopped: the extract stays for the next run
          }
        }
        if (storedTo >= extract.end) break chunks;
        if (storedTo > sentTo) {
          // An earlier run stored more: go on from there (the buffer is read anew).
          if (!await settleAll()) return;
          if (storedTo >= extract.end) break chunks;
          scanner.seekTo(storedTo - extract.start);
          continue chunks;
        }
      }
    }
    if (!await settleAll()) return;
    if (skippedBytes) {
      log.info(`${extract.name}: skipped ${skippedBytes} bytes that CouchDB already held`);
    }
    await finish(extract);
  }

  /** A stored extract out of the way: into `done/`, or deleted. */
  async function finish(extract: ExtractFile): Promise<void> {
    if (settings.done === "delete") await Deno.remove(extract.path);
    else await moveInto(dir, DONE_FOLDER, extract.name);
    stats.extractsDone++;
    log.debug(`stored ${extract.name}`);
  }

  const startedAt = Date.now();
  let stopping: string | null = null;
  try {
    while (!signal.aborted) {
      for (const name of await listMisnamed(dir)) {
        await rejectFile(
          dir,
          name,
          `${name}: not named like an extract (SOURCE.GENERATION.START-END.log)`,
        );
        stats.extractsRejected++;
        log.warn(`${name} moved to ${dir}/rejected: not named like an extract`);
      }
      const extracts = await listExtracts(dir);
      stats.extractsPending = extracts.length;
      for (const extract of extracts) {
        if (signal.aborted) break;
        await processExtract(extract);
        stats.extractsPending--;
      }
      if (settings.once || signal.aborted) break;
      await watch.wait(settings.pollMs ?? 1000, signal);
    }
    return 0;
  } catch (error) {
    stopping = "stopping on an error";
    throw error;
  } finally {
    watch.close();
    log.info(
      stopping ?? stopReason(signal, "stopped: --once has processed every extract there was"),
      {
        extracts: stats.extractsDone,
        extractsRejected: stats.extractsRejected,
        ...summaryFields(stats, startedAt),
      },
    );
  }
}
