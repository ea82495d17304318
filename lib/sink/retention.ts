/**
 * How long `done/` keeps the extracts the monitor has stored: by age and by total size, whichever
 * comes first, oldest first, so that the second host's disk does not fill over the months. What
 * is removed is stored in CouchDB already; `done/` is only there to look at, or to replay.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pruneDone } from "./retention.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/done`);
 * for (const [name, seconds] of [["old.log", 1000], ["new.log", 2000]] as const) {
 *   await Deno.writeTextFile(`${dir}/done/${name}`, "x\n");
 *   await Deno.utime(`${dir}/done/${name}`, seconds, seconds);
 * }
 * const pruned = await pruneDone(dir, { maxAgeMs: Infinity, maxBytes: 2 }, 3000_000);
 * assert.deepEqual(pruned, { files: 1, bytes: 2, kept: 1, keptBytes: 2 });
 * assert.deepEqual([...Deno.readDirSync(`${dir}/done`)].map((e) => e.name), ["new.log"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { join } from "../base/posix_path.ts";
import { DONE_FOLDER } from "./extracts.ts";

/** How much `done/` keeps: files younger than `maxAgeMs`, and at most `maxBytes` of them. */
export interface Retention {
  /** Extracts older than this are removed. */
  maxAgeMs: number;
  /** The most bytes `done/` keeps; the oldest go first. */
  maxBytes: number;
}

/** What a pruning removed and left. */
export interface Pruned {
  /** Extracts removed. */
  files: number;
  /** Bytes they held. */
  bytes: number;
  /** Extracts kept. */
  kept: number;
  /** Bytes they hold. */
  keptBytes: number;
}

/**
 * Removes from `dir/done` the extracts older than the retention, then the oldest until the rest fit
 * its size. `now` is the time to measure ages from.
 */
export async function pruneDone(
  dir: string,
  retention: Retention,
  now: number = Date.now(),
): Promise<Pruned> {
  const folder = join(dir, DONE_FOLDER);
  const files: { path: string; size: number; mtime: number }[] = [];
  try {
    for await (const entry of Deno.readDir(folder)) {
      if (!entry.isFile) continue;
      const path = join(folder, entry.name);
      const info = await Deno.stat(path).catch(() => null);
      if (info) files.push({ path, size: info.size, mtime: info.mtime?.getTime() ?? 0 });
    }
  } catch {
    return { files: 0, bytes: 0, kept: 0, keptBytes: 0 };
  }
  files.sort((a, b) => a.mtime - b.mtime);
  let total = files.reduce((n, f) => n + f.size, 0);
  const pruned: Pruned = { files: 0, bytes: 0, kept: files.length, keptBytes: total };
  for (const file of files) {
    if (now - file.mtime <= retention.maxAgeMs && total <= retention.maxBytes) break;
    await Deno.remove(file.path).catch(() => {});
    total -= file.size;
    pruned.files++;
    pruned.bytes += file.size;
  }
  pruned.kept = files.length - pruned.files;
  pruned.keptBytes = total;
  return pruned;
}
