/**
 * The monitor loop: every extract that appears in the drop directory, in order of source,
 * generation and start offset, is formatted and stored in CouchDB; only then is it moved to
 * `done/` (or deleted). A file that cannot be an extract goes to `rejected/` with its reason.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "../base/log.ts";
 * import { type Batch, extractName } from "../sink/batch.ts";
 * import { runMonitor } from "./monitor_loop.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/${extractName("avl1", 0, 0, 9)}`, "line one\n");
 * const stored: [number, number][] = [];
 * // A store stands in for CouchDB here: the batch is held once it resolves.
 * const store = (batch: Batch) => {
 *   stored.push([batch.start, batch.end]);
 *   return Promise.resolve({ generation: batch.generation, end: batch.end, rows: 1 });
 * };
 * await runMonitor(
 *   { dir, once: true, done: "keep", store, maxLineBytes: 1 << 20, batchLines: 5000 },
 *   createLogger({ level: "error" }),
 *   new AbortController().signal,
 * );
 * assert.deepEqual(stored, [[0, 9]]);
 * assert.deepEqual([...Deno.readDirSync(`${dir}/done`)].map((e) => e.name), [extractName("avl1", 0, 0, 9)]);
 * ```
 * @module
 */
import { hostname } from "node:os";
import { basename, join } from "node:path";
import { type Batch, LONG_LINE_NOTE_BYTES } from "../sink/batch.ts";
import {
  countStored,
  newStoreCounters,
  rejectionLogger,
  type SinkResult,
  stopReason,
  type StoreCounters,
  storeRetrying,
  summaryFields,
} from "../sink/sink.ts";
import {
  DONE_FOLDER,
  type ExtractFile,
  listExtracts,
  listMisnamed,
  moveInto,
  rejectFile,
} from "../sink/extracts.ts";
import { type FileRef, LEGACY_EXTRACT_IDENTITY } from "../source/identity.ts";
import { lineRuns, LineScanner } from "../source/lines.ts";
import type { Logger } from "../base/log.ts";
import { FolderWatch } from "../source/watch.ts";
import { Delivery } from "./delivery.ts";

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

  // Batches in flight, oldest first, across extracts: the next extract is read and formatted while
  // the last batch of one is being stored. An extract is moved away once a batch of it is stored up
  // to its end. A batch's lines are a view of its scanner's buffer, which is not read into again
  // while a batch of it is in flight (see `untilSettled`), nor given to another extract's scanner.
  type Sent = { batch: Batch; extract: Progress };
  type Progress = {
    extract: ExtractFile;
    storedTo: number;
    skippedBytes: number;
    done: boolean;
    /** Its batches in flight, and its scanner's buffer, given back once none is and it is read. */
    inFlight: number;
    scanning: boolean;
    buffer: Uint8Array | null;
  };
  let inFlightKey = "";
  // The scanners' buffers, reused from extract to extract: a new 1 MiB buffer an extract is
  // garbage the collector is slow to give back (measured: peak RSS 92 MB over 200 extracts, 71
  // with the buffers reused).
  const spareBuffers: Uint8Array[] = [];
  const giveBack = (progress: Progress) => {
    if (progress.inFlight > 0 || progress.scanning || !progress.buffer) return;
    spareBuffers.push(progress.buffer);
    progress.buffer = null;
  };
  const delivery = new Delivery<Sent>({
    limit: settings.inFlight ?? 1,
    store: (batch) =>
      storeRetrying(settings.store, batch, signal, (error, attempt) => {
        if (attempt === 0) log.warn(`${basename(batch.source.path)}: ${error.message}; retrying`);
      }, settings.retryForMs),
    settled: ({ extract }) => {
      extract.inFlight--;
      giveBack(extract);
    },
    acknowledge: async ({ extract: progress }, result) => {
      countStored(stats, result);
      progress.skippedBytes += result.skippedBytes ?? 0;
      if (result.rejected?.length) logRejected(progress.extract.source, result.rejected);
      progress.storedTo = Math.max(progress.storedTo, result.end);
      if (progress.storedTo < progress.extract.end || progress.done) return;
      progress.done = true;
      if (progress.skippedBytes) {
        log.info(
          `${progress.extract.name}: skipped ${progress.skippedBytes} bytes that CouchDB already held`,
        );
      }
      await finish(progress.extract);
      stats.extractsPending = Math.max(0, stats.extractsPending - 1);
    },
    log,
  });
  const settleAll = () => delivery.settleAll();
  const untilSettled = (done: () => boolean) => delivery.settleUntil(done);

  /**
   * Sends one batch of `progress`'s extract, then waits while the window is full; false when the
   * monitor stopped. Batches of another source, generation or file wait for those in flight, as
   * capture's do: a generation's documents go out in order, one generation after the other.
   */
  async function send(batch: Batch, progress: Progress): Promise<boolean> {
    const key = `${batch.source.id}\n${batch.generation}\n${progress.extract.fileId ?? ""}`;
    if (key !== inFlightKey && !await settleAll()) return false;
    inFlightKey = key;
    progress.inFlight++;
    return await delivery.send({ batch, extract: progress });
  }

  /** Sends one extract's batches (the last may still be in flight); false when stopped. */
  async function processExtract(extract: ExtractFile): Promise<boolean> {
    const why = await refusal(extract);
    if (why) {
      await rejectFile(dir, extract.name, `${extract.name}: ${why}`);
      stats.extractsRejected++;
      stats.extractsPending = Math.max(0, stats.extractsPending - 1);
      log.warn(`${extract.name} moved to ${dir}/rejected: ${why}`);
      return true;
    }
    const progress: Progress = {
      extract,
      storedTo: extract.start,
      skippedBytes: 0,
      done: false,
      inFlight: 0,
      scanning: true,
      buffer: null,
    };
    const file = await Deno.open(extract.path);
    try {
      const readAt = (await file.stat()).mtime ?? new Date();
      const source = { id: extract.source, host, path: extract.path, file: extractFile(extract) };
      const base = { source, generation: extract.generation, readAt };
      if (extract.long) {
        // One line longer than the limit: its first bytes came, and it is stored as rejected.
        const head = await Deno.readFile(extract.path);
        const length = extract.end - extract.start;
        return await send({
          ...base,
          start: extract.start,
          end: extract.end,
          data: new Uint8Array(0),
          oversized: { kind: "oversized", offset: extract.start, length, head },
        }, progress);
      }
      const scanner = new LineScanner(file, 0, {
        maxLineBytes: settings.maxLineBytes,
        buffer: spareBuffers.pop(),
      });
      progress.buffer = scanner.buffer;
      const size = extract.end - extract.start;
      let sentTo = extract.start;
      for (let item = await scanner.next(); item; item = await scanner.next()) {
        const runs = item.kind === "lines" ? lineRuns(item.bytes, settings.batchLines) : [[0, 0]];
        for (const [from, to] of runs) {
          const start = extract.start + item.offset + from;
          const batch: Batch = item.kind === "lines"
            ? {
              ...base,
              start,
              end: start + to - from,
              data: item.bytes.subarray(from, to),
              oversized: null,
            }
            : {
              ...base,
              start,
              end: start + item.length,
              data: new Uint8Array(0),
              oversized: { ...item, offset: start },
            };
          if (!await send(batch, progress)) return false;
          sentTo = batch.end;
          if (progress.done) return true;
        }
        if (sentTo >= extract.end) return true; // the last chunk: the scanner is not read again
        // The scanner's buffer is reused by the next read: the chunk's batches settle first.
        if (!await untilSettled(() => progress.inFlight === 0)) return false;
        if (progress.done) return true;
        if (progress.storedTo > sentTo) {
          // An earlier run stored more: go on from there (the buffer is read anew).
          scanner.seekTo(progress.storedTo - extract.start);
        }
        if (scanner.position >= size) return true;
      }
      return true;
    } finally {
      // The last batch's lines are a view of the scanner's buffer, not of the file: closing is safe.
      file.close();
      progress.scanning = false;
      giveBack(progress);
    }
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
      let going = true;
      for (const extract of extracts) {
        if (signal.aborted || !(going = await processExtract(extract))) break;
      }
      // What is in flight is stored before the folder is looked at again, or before a stop.
      if (going && !signal.aborted) going = await settleAll();
      else await settleAll().catch(() => false);
      if (!going || settings.once || signal.aborted) break;
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
