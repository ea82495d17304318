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
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { sleep } from "../base/backoff.ts";
import { type Batch, extractKindOf, extractName, LONG_LINE_NOTE_BYTES } from "./batch.ts";
import { ReceiverClient } from "./receiver_client.ts";
import type { BatchSink, SinkResult } from "./sink.ts";
import { pendingBytes, writeExtract } from "./extracts.ts";
import type { Logger } from "../base/log.ts";

/** Where extracts go. */
export interface HandoverOptions {
  /** The drop directory. */
  extractDir?: string;
  /** Stop extracting while the drop directory holds this many bytes of unprocessed extracts. */
  maxPendingBytes: number;
  /** A monitor's receiver, `http(s)://host:port`. */
  shipTo?: string;
  /** The receiver's bearer token. */
  token?: string;
  /** The certificates (PEM) of a private CA, trusted besides the system's. */
  caCerts?: string[];
  /** Per-request timeout; default 60 s. */
  timeoutMs?: number;
  /** Where a full drop directory and an unanswering receiver are told. */
  log: Logger;
  /** How often a full drop directory is looked at again; default 1000 ms. */
  pollMs?: number;
  /** How long an unanswering receiver is retried before the request fails; default forever. */
  retryForMs?: number;
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
  const receiver = options.shipTo
    ? new ReceiverClient({ ...options, shipTo: options.shipTo })
    : null;
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

  /** The drop directory is there, and the receiver answers (whatever it answers). */
  async function probe(): Promise<string | null> {
    if (options.extractDir) {
      const info = await Deno.stat(options.extractDir).catch(() => null);
      if (!info?.isDirectory) return `the drop directory ${options.extractDir} is not there`;
    }
    return await receiver?.probe() ?? null;
  }

  return {
    probe,
    ...(receiver
      ? {
        positionHolder: receiver.holder,
        findPosition: (source, file) => receiver.position(source, file),
      }
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
      // Sent from the batch's own bytes, which stay until it is stored.
      await receiver?.put(name, bytes);
      return { generation: batch.generation, end: batch.end };
    },
  };
}
