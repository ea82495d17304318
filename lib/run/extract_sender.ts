/**
 * Storing the extracts of a drop directory: each is checked, cut into batches of whole lines, and
 * delivered through one window of batches in flight shared across extracts, so that the next
 * extract is read and formatted while the last batch of one is being stored. An extract is moved
 * to `done/` (or deleted) once a batch of it is stored up to its end; one that cannot be an extract
 * goes to `rejected/` with its reason.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "../base/log.ts";
 * import { extractName } from "../sink/batch.ts";
 * import { listExtracts } from "../sink/extracts.ts";
 * import { ExtractSender, newMonitorStats } from "./extract_sender.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/${extractName("avl1", 0, 0, 9)}`, "line one\n");
 * const stored: [number, number][] = [];
 * const sender = new ExtractSender({
 *   dir,
 *   done: "delete",
 *   store: (batch) => (stored.push([batch.start, batch.end]),
 *     Promise.resolve({ generation: batch.generation, end: batch.end })),
 *   maxLineBytes: 1 << 20,
 *   batchLines: 5000,
 * }, newMonitorStats(), createLogger({ level: "error" }), new AbortController().signal);
 * for (const extract of await listExtracts(dir)) assert.equal(await sender.send(extract), true);
 * assert.equal(await sender.settleAll(), true);
 * assert.deepEqual(stored, [[0, 9]]);
 * assert.deepEqual(await listExtracts(dir), []); // stored, then deleted
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import type { Logger } from "../base/log.ts";
import { type Batch, LONG_LINE_NOTE_BYTES } from "../sink/batch.ts";
import { DONE_FOLDER, type ExtractFile, moveInto, rejectFile } from "../sink/extracts.ts";
import {
  type BatchSink,
  countStored,
  newStoreCounters,
  rejectionLogger,
  type StoreCounters,
  storeRetrying,
} from "../sink/sink.ts";
import { type FileRef, LEGACY_EXTRACT_IDENTITY } from "../source/identity.ts";
import { lineRuns, LineScanner } from "../source/lines.ts";
import { Delivery } from "./delivery.ts";

/**
 * The read buffer for extracts: a chunk read is a document. A MiB and a sixteenth, so that an
 * extract of N MiB (capture cuts them at 4 by default) is read in N chunks: each chunk ends at its
 * last whole line, and with a buffer of exactly 1 MiB the lines cut off the ends of four chunks
 * made a fifth document of a few hundred bytes for every 4 MiB extract.
 */
const EXTRACT_READ_BYTES = (1 << 20) + (1 << 16);

/** How extracts are stored. */
export interface ExtractSenderSettings {
  /** The drop directory. */
  dir: string;
  /** What becomes of a stored extract: moved into `done/`, or deleted. */
  done: "keep" | "delete";
  /** Stores one batch (CouchDB, feed or records mode). */
  store: BatchSink["store"];
  /** The longest line stored whole. */
  maxLineBytes: number;
  /** Most lines in one stored batch. */
  batchLines: number;
  /** How many batches may be stored at once (the sink's `inFlight`; 1 when absent). */
  inFlight?: number;
  /** How long a failing store is retried before the monitor stops with its error; default forever. */
  retryForMs?: number;
}

/** Counters, for logs and metrics. */
export interface MonitorStats extends StoreCounters {
  /** Extracts stored and moved out of the way. */
  extractsDone: number;
  /** Files moved to `rejected/`. */
  extractsRejected: number;
  /** Extracts waiting in the drop directory. */
  extractsPending: number;
  /** Requests the receiver refused for a missing or wrong token. */
  tokensRefused: number;
  /** Stored extracts removed from `done/` by its retention. */
  extractsPruned: number;
  /** Bytes `done/` holds, as of its last pruning. */
  doneBytes: number;
}

/** A fresh set of counters. */
export function newMonitorStats(): MonitorStats {
  return {
    ...newStoreCounters(),
    extractsDone: 0,
    extractsRejected: 0,
    extractsPending: 0,
    tokensRefused: 0,
    extractsPruned: 0,
    doneBytes: 0,
  };
}

/**
 * Which file an extract's lines came from: its file id (SPEC §4), which the stored documents keep
 * as `source.file`. An extract named in the earlier form has none: every extract of its source and
 * generation then counts as the same file, as before.
 */
export function extractFile(extract: ExtractFile): FileRef {
  return extract.fileId ? { id: extract.fileId } : LEGACY_EXTRACT_IDENTITY;
}

/** Where one extract stands while its batches are stored. */
interface Progress {
  extract: ExtractFile;
  storedTo: number;
  skippedBytes: number;
  done: boolean;
}

/** A read buffer, given back once it is not read into and no batch of its lines is in flight. */
interface BufferHold {
  buffer: Uint8Array;
  inFlight: number;
  reading: boolean;
}

/**
 * Stores extracts one after the other, their batches in one window; see the module example. A
 * batch's lines are a view of the buffer they were read into, which is not read into again while a
 * batch of it is in flight: the next lines, of the same extract or the next, go into another.
 */
export class ExtractSender {
  readonly #settings: ExtractSenderSettings;
  readonly #stats: MonitorStats;
  readonly #log: Logger;
  readonly #host = Deno.hostname();
  readonly #delivery: Delivery<{ batch: Batch; extract: Progress; hold: BufferHold | null }>;
  // The scanners' buffers, reused from extract to extract: a new 1 MiB buffer an extract is
  // garbage the collector is slow to give back (measured: peak RSS 92 MB over 200 extracts, 71
  // with the buffers reused).
  readonly #spareBuffers: Uint8Array[] = [];

  /** A sender with nothing in flight; `signal` ends the retries of a failing store. */
  constructor(
    settings: ExtractSenderSettings,
    stats: MonitorStats,
    log: Logger,
    signal: AbortSignal,
  ) {
    this.#settings = settings;
    this.#stats = stats;
    this.#log = log;
    const logRejected = rejectionLogger(log);
    this.#delivery = new Delivery({
      limit: settings.inFlight ?? 1,
      store: (batch, turn) =>
        storeRetrying(
          settings.store,
          batch,
          signal,
          (error, attempt) => {
            if (attempt === 0) log.warn(`${batch.source.extract}: ${error.message}; retrying`);
          },
          settings.retryForMs,
          turn,
        ),
      settled: ({ hold }) => {
        if (!hold) return;
        hold.inFlight--;
        this.#giveBack(hold);
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
        await this.#finish(progress.extract);
        stats.extractsPending = Math.max(0, stats.extractsPending - 1);
      },
      log,
    });
  }

  /** Waits until every batch in flight is stored and its extract moved; false when stopped. */
  settleAll(): Promise<boolean> {
    return this.#delivery.settleAll();
  }

  /** Sends one extract's batches (the last may still be in flight); false when stopped. */
  async send(extract: ExtractFile): Promise<boolean> {
    const { dir, maxLineBytes, batchLines } = this.#settings;
    const why = await refusal(extract);
    if (why) {
      await rejectFile(dir, extract.name, `${extract.name}: ${why}`);
      this.#stats.extractsRejected++;
      this.#stats.extractsPending = Math.max(0, this.#stats.extractsPending - 1);
      this.#log.warn(`${extract.name} moved to ${dir}/rejected: ${why}`);
      return true;
    }
    const progress: Progress = { extract, storedTo: extract.start, skippedBytes: 0, done: false };
    let hold: BufferHold | null = null;
    const file = await Deno.open(extract.path);
    try {
      const readAt = (await file.stat()).mtime ?? new Date();
      const source = {
        id: extract.source,
        host: this.#host,
        extract: extract.name,
        file: extractFile(extract),
      };
      const base = { source, generation: extract.generation, readAt };
      if (extract.last) {
        // The unterminated last line of a finished file: a row if it parses, else rejected.
        return await this.#send(
          {
            ...base,
            start: extract.start,
            end: extract.end,
            data: await Deno.readFile(extract.path),
            oversized: null,
          },
          progress,
          null,
        );
      }
      if (extract.long) {
        // One line longer than the limit: its first bytes came, and it is stored as rejected.
        const head = await Deno.readFile(extract.path);
        const length = extract.end - extract.start;
        return await this.#send(
          {
            ...base,
            start: extract.start,
            end: extract.end,
            data: new Uint8Array(0),
            oversized: { kind: "oversized", offset: extract.start, length, head },
          },
          progress,
          null,
        );
      }
      const size = extract.end - extract.start;
      for (let at = 0; at < size;) {
        // Each chunk is read into a buffer of its own, while the batches of the one before are
        // stored: a scanner a chunk, from where the last whole line read ended.
        const scanner = new LineScanner(file, at, {
          maxLineBytes,
          bufferBytes: EXTRACT_READ_BYTES,
          buffer: this.#spareBuffers.pop(),
        });
        hold = { buffer: scanner.buffer, inFlight: 0, reading: true };
        const item = await scanner.next();
        if (!item) return true;
        const runs = item.kind === "lines" ? lineRuns(item.bytes, batchLines) : [[0, 0]];
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
          if (!await this.#send(batch, progress, hold)) return false;
          if (progress.done) return true;
        }
        hold.reading = false;
        this.#giveBack(hold);
        // An earlier run may have stored more, as the answers so far say: go on from there.
        at = Math.max(scanner.position, progress.storedTo - extract.start);
      }
      return true;
    } finally {
      // The last batch's lines are a view of a buffer, not of the file: closing is safe.
      file.close();
      if (hold) {
        hold.reading = false;
        this.#giveBack(hold);
      }
    }
  }

  /**
   * Sends one batch of `progress`'s extract, then waits while the window is full; false when the
   * monitor stopped. Batches of another source, generation or file wait for those in flight, as
   * capture's do: a generation's documents go out in order, one generation after the other.
   */
  async #send(batch: Batch, progress: Progress, hold: BufferHold | null): Promise<boolean> {
    if (!await this.#delivery.turnTo(batch)) return false;
    if (hold) hold.inFlight++;
    return await this.#delivery.send({ batch, extract: progress, hold });
  }

  /** Takes back a buffer nothing reads into and no batch in flight holds (once). */
  #giveBack(hold: BufferHold): void {
    if (hold.inFlight > 0 || hold.reading || hold.buffer.length === 0) return;
    this.#spareBuffers.push(hold.buffer);
    hold.buffer = new Uint8Array(0);
  }

  /** A stored extract out of the way: into `done/`, or deleted. */
  async #finish(extract: ExtractFile): Promise<void> {
    if (this.#settings.done === "delete") await Deno.remove(extract.path);
    else await moveInto(this.#settings.dir, DONE_FOLDER, extract.name);
    this.#stats.extractsDone++;
    this.#log.debug(`stored ${extract.name}`);
  }
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
    if (extract.last ? last[0] === 10 : last[0] !== 10) {
      return extract.last
        ? "it ends in a newline (a .last extract holds one unterminated last line)"
        : "it does not end with a whole line (an extract holds whole lines only)";
    }
  } catch (error) {
    return `it cannot be read: ${(error as Error).message}`;
  }
  return null;
}
