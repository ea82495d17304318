/**
 * Tail-only capture: each batch becomes an extract for the second host, written into a drop
 * directory, or shipped to a monitor's HTTP receiver, or both. A batch counts as handed over only
 * once the extract is renamed into place, or the receiver answered that it holds it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "../base/log.ts";
 * import type { Batch } from "./batch.ts";
 * import { extractSink } from "./handover.ts";
 * const dir = await Deno.makeTempDir();
 * const sink = extractSink({ extractDir: dir, maxPendingBytes: 1 << 30, log: createLogger() });
 * const file = { dev: 1, ino: 2, head: "0123456789abcdef", headLength: 9 };
 * const batch: Batch = {
 *   source: { id: "avl1", host: "h", path: "/var/log/spysocket.log", file },
 *   generation: 0,
 *   start: 0,
 *   end: 9,
 *   data: new TextEncoder().encode("line one\n"),
 *   oversized: null,
 *   readAt: new Date(),
 * };
 * assert.deepEqual(await sink.store(batch), { generation: 0, end: 9 });
 * assert.equal([...Deno.readDirSync(dir)].length, 1); // the extract, renamed into place
 * ```
 * @module
 */
import { backoffDelay, sleep } from "../base/backoff.ts";
import { type Batch, extractKindOf, extractName, LONG_LINE_NOTE_BYTES } from "./batch.ts";
import { networkReason, PermanentError } from "../base/errors.ts";
import type { BatchSink, SinkResult } from "./sink.ts";
import { pendingBytes, writeExtract } from "./extracts.ts";
import type { FileIdentity } from "../source/identity.ts";
import type { Logger } from "../base/log.ts";

/** Where extracts go. */
export interface HandoverOptions {
  /** The drop directory. */
  extractDir?: string;
  /** Stop extracting while the drop directory holds this many bytes of unprocessed extracts. */
  maxPendingBytes: number;
  /** A monitor's receiver, `http(s)://host:port`. */
  shipTo?: string;
  token?: string;
  /** For a private CA. */
  httpClient?: Deno.HttpClient;
  /** Per-request timeout; default 60 s. */
  timeoutMs?: number;
  log: Logger;
  /** How often a full drop directory is looked at again; default 1000 ms. */
  pollMs?: number;
  /** How long an unanswering receiver is retried before the request fails; default forever. */
  retryForMs?: number;
}

/** Raised when the receiver refuses an extract for good (wrong token, a different extract by that name). */
export class HandoverError extends PermanentError {
  readonly status: number;
  /** The receiver's refusal (`status`), which no retry mends. */
  constructor(message: string, status: number) {
    super(message);
    this.name = "HandoverError";
    this.status = status;
  }
}

/**
 * The bytes a batch travels as: its lines, or, for a line longer than the limit, its note (SPEC §4,
 * a `.long` extract): the line's first bytes, so that no extract outgrows what the receiver takes.
 */
function batchBytes(batch: Batch): Uint8Array {
  return batch.oversized ? batch.oversized.head.subarray(0, LONG_LINE_NOTE_BYTES) : batch.data;
}

/** The sink of tail-only capture. See the module example. */
export function extractSink(options: HandoverOptions): BatchSink {
  const { log } = options;
  let knownPending = 0;
  let full = false;

  async function waitForRoom(size: number): Promise<void> {
    const folder = options.extractDir!;
    if (knownPending + size < options.maxPendingBytes) return;
    for (;;) {
      knownPending = await pendingBytes(folder);
      if (knownPending + size < options.maxPendingBytes || knownPending === 0) break;
      if (!full) {
        log.warn(
          `${folder} holds ${knownPending} bytes of extracts not yet processed (limit ${options.maxPendingBytes}): extracting is paused until the monitor catches up; the log is the buffer`,
        );
        full = true;
      }
      await sleep(options.pollMs ?? 1000);
    }
    if (full) log.info(`${folder} has room again: extracting resumes`);
    full = false;
  }

  /**
   * One request to the receiver, retried with backoff until it answers (or for `retryForMs`): its
   * status and text for a success or a 404; a {@linkcode HandoverError} for a refusal no retry
   * mends (401, 400, 409, 413).
   */
  async function askReceiver(
    method: "PUT" | "GET",
    path: string,
    what: string,
    body?: Uint8Array<ArrayBuffer>,
  ): Promise<{ status: number; text: string }> {
    const url = `${options.shipTo!.replace(/\/+$/, "")}${path}`;
    const deadline = Date.now() + (options.retryForMs ?? Infinity);
    for (let attempt = 0;; attempt++) {
      let reason: string;
      try {
        const response = await fetch(url, {
          method,
          body,
          headers: { Authorization: `Bearer ${options.token ?? ""}`, "Content-Type": "text/plain" },
          signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
          client: options.httpClient,
        });
        const text = await response.text();
        if (response.ok || response.status === 404) {
          if (attempt > 0) log.info(`the receiver at ${options.shipTo} answers again`);
          return { status: response.status, text };
        }
        if (response.status === 401) {
          throw new HandoverError(
            `the receiver at ${options.shipTo} refused the token (401): check --token-file`,
            401,
          );
        }
        if (response.status === 409 || response.status === 400 || response.status === 413) {
          throw new HandoverError(
            `the receiver at ${options.shipTo} refused ${what} (${response.status}): ${text.trim()}`,
            response.status,
          );
        }
        reason = `${response.status} ${text.trim().slice(0, 200)}`;
      } catch (error) {
        if (error instanceof HandoverError) throw error;
        reason = networkReason(error, options.timeoutMs ?? 60_000);
      }
      if (attempt === 0) {
        log.warn(
          `cannot reach the receiver at ${options.shipTo} for ${what}: ${reason}; retrying with backoff`,
        );
      }
      if (Date.now() >= deadline) {
        throw new Error(`cannot reach the receiver at ${options.shipTo} for ${what}: ${reason}`);
      }
      await sleep(Math.min(backoffDelay(attempt, 250, 30_000), deadline - Date.now()));
    }
  }

  async function ship(name: string, body: Uint8Array<ArrayBuffer>): Promise<void> {
    const { status, text } = await askReceiver(
      "PUT",
      `/extracts/${encodeURIComponent(name)}`,
      name,
      body,
    );
    if (status === 404) {
      throw new HandoverError(`the receiver at ${options.shipTo} has no /extracts/: ${text}`, 404);
    }
  }

  /** Where the receiver (and CouchDB behind it) holds this file up to: for a lost cache file. */
  async function findPosition(
    source: string,
    file: FileIdentity,
  ): Promise<{ generation: number; offset: number } | null> {
    if (!file.id) return null;
    const query = new URLSearchParams({ source, file: file.id });
    const { status, text } = await askReceiver("GET", `/position?${query}`, "the position");
    if (status === 404) return null; // nothing of this file, or a receiver of an earlier version
    const found = JSON.parse(text);
    return Number.isSafeInteger(found.generation) && Number.isSafeInteger(found.offset)
      ? { generation: found.generation, offset: found.offset }
      : null;
  }

  /** The drop directory is there, and the receiver answers (whatever it answers). */
  async function probe(): Promise<string | null> {
    if (options.extractDir) {
      const info = await Deno.stat(options.extractDir).catch(() => null);
      if (!info?.isDirectory) return `the drop directory ${options.extractDir} is not there`;
    }
    if (options.shipTo) {
      try {
        const response = await fetch(options.shipTo, {
          signal: AbortSignal.timeout(3000),
          client: options.httpClient,
        });
        await response.body?.cancel();
      } catch (error) {
        return `cannot reach the receiver at ${options.shipTo}: ${networkReason(error, 3000)}`;
      }
    }
    return null;
  }

  return {
    probe,
    ...(options.shipTo
      ? { positionHolder: `the receiver at ${options.shipTo}`, findPosition }
      : {}),
    async store(batch: Batch): Promise<SinkResult> {
      const name = extractName(
        batch.source.id,
        batch.generation,
        batch.start,
        batch.end,
        batch.source.file.id,
        extractKindOf(batch),
      );
      const bytes = batchBytes(batch);
      if (options.extractDir) {
        await waitForRoom(bytes.length);
        const written = await writeExtract(options.extractDir, name, [bytes]);
        if (written) knownPending += bytes.length;
        else log.debug(`${name} is in ${options.extractDir} already (an earlier run extracted it)`);
      }
      if (options.shipTo) await ship(name, bytes.slice());
      return { generation: batch.generation, end: batch.end };
    },
  };
}
