/**
 * Durable, all-or-nothing file writes (invariant 5): the bytes go to a temporary file, which is
 * fsynced and only then given its name, and the folder is fsynced so that the name survives a
 * crash. A reader sees the old file or the new one, never a part.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeFileAtomic } from "./atomic.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/avl1.cache.json`, new TextEncoder().encode("{}\n"));
 * assert.equal(await Deno.readTextFile(`${dir}/avl1.cache.json`), "{}\n");
 * assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["avl1.cache.json"]); // no temp left
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { basename, dirname, join } from "../base/posix_path.ts";

/** Writes `chunks` into a new file at `path` (which must not exist) and fsyncs it. */
export async function writeSynced(
  path: string,
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  mode: number,
): Promise<void> {
  const file = await Deno.open(path, { write: true, createNew: true, mode });
  try {
    for await (const chunk of chunks) {
      for (let at = 0; at < chunk.length;) at += await file.write(chunk.subarray(at));
    }
    await file.sync();
  } finally {
    file.close();
  }
}

/**
 * {@linkcode writeSynced} for bytes at hand, without leaving the thread: each asynchronous file
 * call is a trip to a runtime thread and back, which costs more than a small write itself.
 */
export function writeSyncedNow(path: string, chunks: Uint8Array[], mode: number): void {
  using file = Deno.openSync(path, { write: true, createNew: true, mode });
  for (const chunk of chunks) {
    for (let at = 0; at < chunk.length;) at += file.writeSync(chunk.subarray(at));
  }
  file.syncSync();
}

/** {@linkcode fsyncFolder}, without leaving the thread. */
export function fsyncFolderNow(folder: string): void {
  try {
    using dir = Deno.openSync(folder);
    dir.syncSync();
  } catch {
    // Some filesystems cannot fsync a folder; the rename itself is still atomic.
  }
}

/** Fsyncs a folder, so that a rename or link in it survives a crash. */
export async function fsyncFolder(folder: string): Promise<void> {
  try {
    using dir = await Deno.open(folder);
    await dir.sync();
  } catch {
    // Some filesystems cannot fsync a folder; the rename itself is still atomic.
  }
}

/** A temporary name beside `path`: a dot-file, unique to this process and call. */
export function tempNameFor(path: string): string {
  return join(
    dirname(path),
    `.${basename(path)}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`,
  );
}

/**
 * Removes the temporary files of `path` that a process killed mid-write left behind (names made
 * by {@linkcode tempNameFor}); safe only while the caller owns `path` (`lock.ts`). Resolves with
 * how many there were.
 */
export async function removeStaleTemps(path: string): Promise<number> {
  const prefix = `.${basename(path)}.`;
  const temp = /^\d+\.[0-9a-f]{8}\.tmp$/;
  let removed = 0;
  for await (const entry of Deno.readDir(dirname(path))) {
    if (!entry.isFile || !entry.name.startsWith(prefix)) continue;
    if (!temp.test(entry.name.slice(prefix.length))) continue;
    await Deno.remove(join(dirname(path), entry.name)).catch(() => {});
    removed++;
  }
  return removed;
}

/** Replaces `path` with `bytes` atomically: temp file, fsync, rename, fsync of the folder. */
export async function writeFileAtomic(
  path: string,
  bytes: Uint8Array,
  mode = 0o600,
): Promise<void> {
  const temp = tempNameFor(path);
  try {
    await writeSynced(temp, [bytes], mode);
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
  await fsyncFolder(dirname(path));
}
