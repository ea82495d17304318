/**
 * Where capture starts reading, asked once: from the cache file when it fits the log, else from
 * where the sink (CouchDB, or a receiver in front of it) holds the file, else a 2012 history file,
 * else `--from`. The cache file is a hint; when it is in doubt, the sink is asked.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "../base/log.ts";
 * import { startPoint } from "./start_point.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/spysocket.log`, "line one\n");
 * const { checkpoint, start, origin } = await startPoint({
 *   path: `${dir}/spysocket.log`,
 *   cachePath: `${dir}/avl1.cache.json`,
 *   from: "end",
 * }, createLogger({ level: "error" }));
 * assert.equal(checkpoint, null);
 * assert.deepEqual([start.offset, start.fromEnd, origin], [0, true, "--from end"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import type { Logger } from "../base/log.ts";
import {
  type Checkpoint,
  checkpointDisagreement,
  CheckpointError,
  readCheckpoint,
  readLegacyHistory,
} from "./checkpoint.ts";
import { type FileIdentity, readIdentity } from "./identity.ts";
import type { TailStart } from "./tail_start.ts";

/** What decides where capture starts. */
export interface StartSettings {
  /** The log. */
  path: string;
  /** Its cache file. */
  cachePath: string;
  /** Where a log never captured starts: its beginning, or its last whole line. */
  from: "start" | "end";
  /** A 2012 history file to start from (`--import-history`). */
  importHistory?: string;
  /** Asks the sink where an earlier run left a file; absent when it cannot tell. */
  locate?: (file: FileIdentity) => Promise<{ generation: number; offset: number } | null>;
  /** Who `locate` asks, for messages; "CouchDB" by default. */
  holder?: string;
}

function checkpointStart(checkpoint: Checkpoint): TailStart {
  return {
    generation: checkpoint.generation,
    offset: checkpoint.offset,
    file: checkpoint.file,
    before: checkpoint.before,
    savedAt: checkpoint.updated ? Date.parse(checkpoint.updated) : undefined,
  };
}

/**
 * Reads the cache file and says where capture starts, what the cache file held, and where the
 * start came from (for the first log line); see the module example.
 */
export async function startPoint(
  settings: StartSettings,
  log: Logger,
): Promise<{ checkpoint: Checkpoint | null; start: TailStart; origin: string }> {
  const checkpoint = await readCheckpoint(settings.cachePath);
  if (checkpoint && checkpoint.path !== settings.path) {
    throw new Error(
      `cache file ${settings.cachePath} belongs to ${checkpoint.path}, not ${settings.path}: give each log its own --cache`,
    );
  }
  return { checkpoint, ...await startOf(settings, checkpoint, log) };
}

async function startOf(
  settings: StartSettings,
  checkpoint: Checkpoint | null,
  log: Logger,
): Promise<{ start: TailStart; origin: string }> {
  const { locate, holder = "CouchDB" } = settings;
  if (checkpoint) {
    const doubt = await checkpointDisagreement(checkpoint, settings.path);
    if (!doubt) {
      return {
        start: { ...checkpointStart(checkpoint), locate, holder },
        origin: "the cache file",
      };
    }
    if (!locate) {
      throw new CheckpointError(
        `cache file ${settings.cachePath} does not fit ${settings.path}: ${doubt}. Move it away to start over: capture hands the log over again from its start, and the monitor stores each line once`,
      );
    }
    // The file at the path has the cache file's text (checkpointDisagreement found it so): it is
    // that file, whatever its inode now, and CouchDB knows it by the identity it was first seen with.
    const file = checkpoint.file;
    const found = await locate(file);
    log.warn(
      `cache file ${settings.cachePath} does not fit ${settings.path} (${doubt}): ${
        found
          ? `${holder} holds this file (generation ${found.generation}): continuing at offset ${found.offset}`
          : `${holder} holds nothing of this file: starting it at 0`
      }`,
    );
    return found ? { start: { ...found, file }, origin: holder } : {
      start: { generation: checkpoint.generation, offset: 0, file },
      origin: `${holder} (nothing held)`,
    };
  }
  if (settings.importHistory) {
    const size = await readLegacyHistory(settings.importHistory, settings.path);
    if (size === null) {
      throw new Error(`${settings.importHistory} has no size.<path> entry for ${settings.path}`);
    }
    log.info(`starting from the 2012 history ${settings.importHistory}: offset ${size}`);
    return { start: { generation: 0, offset: size }, origin: "the 2012 history" };
  }
  if (locate) {
    const file = await identityAtPath(settings.path);
    const found = file ? await locate(file) : null;
    if (found && file) {
      log.warn(
        `no cache file at ${settings.cachePath}; ${holder} holds this file (generation ${found.generation}): continuing at offset ${found.offset}, skipping what is stored already`,
      );
      return { start: { ...found, file }, origin: holder };
    }
  }
  return {
    start: { generation: 0, offset: 0, fromEnd: settings.from === "end" },
    origin: `--from ${settings.from}`,
  };
}

async function identityAtPath(path: string): Promise<FileIdentity | null> {
  try {
    using file = await Deno.open(path);
    return await readIdentity(file);
  } catch {
    return null;
  }
}
