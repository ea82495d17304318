/**
 * The monitor loop: every extract that appears in the drop directory, in order of source,
 * generation and start offset, is formatted and stored in CouchDB; only then is it moved to
 * `done/` (or deleted). A file that cannot be an extract goes to `rejected/` with its reason. The
 * loop watches the folder; storing one extract is {@linkcode ExtractSender}'s.
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
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { join } from "../base/posix_path.ts";
import type { Logger } from "../base/log.ts";
import { DONE_FOLDER, listExtracts, listMisnamed, rejectFile } from "../sink/extracts.ts";
import { stopReason, summaryFields } from "../sink/sink.ts";
import { FolderWatch } from "../source/watch.ts";
import { pruneDone, type Retention } from "../sink/retention.ts";

/** How often `done/` is held to its retention. */
const PRUNE_EVERY_MS = 60_000;
import {
  ExtractSender,
  type ExtractSenderSettings,
  type MonitorStats,
  newMonitorStats,
} from "./extract_sender.ts";

/** Monitor settings. */
export interface MonitorSettings extends ExtractSenderSettings {
  /** Store what is there now, then exit. */
  once: boolean;
  /** How much `done/` keeps (with `done: "keep"`); absent: all of it. */
  retention?: Retention;
  /** How often the folder is scanned without a filesystem event; default 1000 ms. */
  pollMs?: number;
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

/** Runs the monitor until `signal` aborts (or, with `once`, until the folder is empty). */
export async function runMonitor(
  settings: MonitorSettings,
  log: Logger,
  signal: AbortSignal,
  stats: MonitorStats = newMonitorStats(),
): Promise<number> {
  const { dir } = settings;
  const watch = new FolderWatch(dir, (p) => !p.includes("/.") || p.endsWith(".log"));
  if (!watch.watching) {
    log.warn(`cannot watch ${dir}; scanning it every ${settings.pollMs ?? 1000} ms`);
  }

  const sender = new ExtractSender(settings, stats, log, signal);
  let prunedAt = -Infinity;
  /** About once a minute, `done/` is held to its retention. */
  async function prune(): Promise<void> {
    if (!settings.retention || settings.done !== "keep") return;
    if (Date.now() - prunedAt < PRUNE_EVERY_MS) return;
    prunedAt = Date.now();
    const pruned = await pruneDone(dir, settings.retention);
    stats.extractsPruned += pruned.files;
    stats.doneBytes = pruned.keptBytes;
    if (pruned.files > 0) {
      log.info(`removed ${pruned.files} stored extracts (${pruned.bytes} bytes) from ${dir}/done`, {
        kept: pruned.kept,
        keptBytes: pruned.keptBytes,
      });
    }
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
      await prune();
      const extracts = await listExtracts(dir);
      stats.extractsPending = extracts.length;
      let going = true;
      for (const extract of extracts) {
        if (signal.aborted || !(going = await sender.send(extract))) break;
      }
      // What is in flight is stored before the folder is looked at again, or before a stop.
      if (going && !signal.aborted) going = await sender.settleAll();
      else await sender.settleAll().catch(() => false);
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
