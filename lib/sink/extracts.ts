/**
 * Extract files (SPEC §4): byte-exact slices of the log holding whole lines, written under a
 * temporary dot-name, fsynced and renamed into place, so that a reader only ever sees complete
 * extracts. The drop directory is where capture (tail-only) hands them to the monitor.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listExtracts, writeExtract } from "./extracts.ts";
 * const dir = await Deno.makeTempDir();
 * const name = "avl1.0.0000000000000000-0000000000000009.log";
 * assert.equal(await writeExtract(dir, name, [new TextEncoder().encode("line one\n")]), true);
 * const [pending] = await listExtracts(dir); // in order of source, generation, start
 * assert.deepEqual([pending.name, pending.start, pending.end, pending.size], [name, 0, 9, 9]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { join } from "../base/posix_path.ts";
import {
  fsyncFolder,
  fsyncFolderNow,
  tempNameFor,
  writeSynced,
  writeSyncedNow,
} from "../source/atomic.ts";
import { type ExtractRange, parseExtractName } from "./batch.ts";

/** An extract in a drop directory. */
export interface ExtractFile extends ExtractRange {
  /** The file's name in the drop directory. */
  name: string;
  /** Its path. */
  path: string;
  /** Its size in bytes. */
  size: number;
}

/** Where stored extracts go, inside the drop directory (unless `--done delete`). */
export const DONE_FOLDER = "done";
/** Where a file that cannot be an extract goes, inside the drop directory, with its reason. */
export const REJECTED_FOLDER = "rejected";

/**
 * Writes an extract atomically: `.NAME.PID.tmp`, fsync, then a hard link to `NAME` (which fails if
 * `NAME` exists, so two writers never overwrite each other), fsync of the folder. Resolves with
 * `false` when `NAME` already existed (the temp file is removed).
 *
 * Bytes at hand (capture's batches) are written without leaving the thread, and so are the calls on
 * names for any extract: asynchronous, they were seven trips to a runtime thread and back for each
 * extract, 0.07 CPU-s a million lines of tail-only capture, a quarter of its cost. The event loop
 * waits on the drop directory meanwhile: a few milliseconds on a local disk. A body still arriving
 * (the receiver's) is written as it comes.
 */
export async function writeExtract(
  folder: string,
  name: string,
  chunks: Uint8Array[] | AsyncIterable<Uint8Array>,
): Promise<boolean> {
  const temp = tempNameFor(join(folder, name));
  try {
    if (Array.isArray(chunks)) writeSyncedNow(temp, chunks, 0o644);
    else await writeSynced(temp, chunks, 0o644);
    try {
      Deno.linkSync(temp, join(folder, name));
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) return false;
      throw error;
    }
    fsyncFolderNow(folder);
    return true;
  } finally {
    try {
      Deno.removeSync(temp);
    } catch {
      // Never written (the folder is gone, or full): nothing to remove.
    }
  }
}

/** The extracts waiting in a folder (dot-files and other names left out), in processing order. */
export async function listExtracts(folder: string): Promise<ExtractFile[]> {
  const out: ExtractFile[] = [];
  for await (const entry of Deno.readDir(folder)) {
    if (!entry.isFile || entry.name.startsWith(".")) continue;
    const range = parseExtractName(entry.name);
    if (!range) continue;
    const path = join(folder, entry.name);
    const size = await Deno.stat(path).then((i) => i.size, () => -1);
    if (size >= 0) out.push({ ...range, name: entry.name, path, size });
  }
  return out.sort((a, b) =>
    a.source < b.source
      ? -1
      : a.source > b.source
      ? 1
      : a.generation - b.generation || a.start - b.start ||
        a.end - b.end
  );
}

/** Files in a folder that end in `.log` like an extract but are not named like one. */
export async function listMisnamed(folder: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(folder)) {
    if (
      entry.isFile && !entry.name.startsWith(".") && entry.name.endsWith(".log") &&
      !parseExtractName(entry.name)
    ) {
      out.push(entry.name);
    }
  }
  return out.sort();
}

/** Bytes held by the extracts waiting in a folder: the back-pressure measure. */
export async function pendingBytes(folder: string): Promise<number> {
  let total = 0;
  for (const extract of await listExtracts(folder).catch(() => [])) total += extract.size;
  return total;
}

/** Moves a file into a subfolder of the drop directory, creating it when needed. */
export async function moveInto(folder: string, sub: string, name: string): Promise<string> {
  const target = join(folder, sub);
  await Deno.mkdir(target, { recursive: true });
  const to = join(target, name);
  await Deno.rename(join(folder, name), to);
  await fsyncFolder(target);
  return to;
}

/** Moves a refused file to `rejected/` with a `.reason` file beside it. */
export async function rejectFile(folder: string, name: string, reason: string): Promise<void> {
  const to = await moveInto(folder, REJECTED_FOLDER, name);
  await Deno.writeTextFile(`${to}.reason`, reason + "\n");
}
