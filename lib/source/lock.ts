/**
 * One owner at a time (SPEC §5): capture holds its cache file, the monitor its drop directory, by an
 * exclusive advisory lock (`flock`) held for the life of the process. The kernel drops the lock
 * when the process ends, a SIGKILL included, so a crash never leaves a stale lock and the next
 * start needs no clean-up. A cache file is replaced at every write, so its lock is on a `.lock`
 * file beside it, which also holds the owner's PID for the message of a process that is refused.
 * A drop directory is locked itself, so that it holds nothing but extracts (its holder's PID is
 * in `/proc/locks`, which the programs' permissions do not reach).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cacheLockPath, holdLock } from "./lock.ts";
 * const dir = await Deno.makeTempDir();
 * const what = `cache file ${dir}/cache.json`;
 * const lock = await holdLock(cacheLockPath(`${dir}/cache.json`), what, "stop it first");
 * await assert.rejects(
 *   holdLock(cacheLockPath(`${dir}/cache.json`), what, "stop it first"),
 *   /cache file .* is in use by another process( \(PID \d+\))?: stop it first/,
 * );
 * lock.release();
 * await holdLock(cacheLockPath(`${dir}/cache.json`), what, "stop it first"); // free again
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { PermanentError } from "../base/errors.ts";

/** A lock this process holds. */
export interface HeldLock {
  /** The lock file. */
  path: string;
  /** Gives the lock up (the process's end does the same). */
  release(): void;
}

/** The lock file of a cache file: beside it, in the same private folder. */
export function cacheLockPath(cachePath: string): string {
  return `${cachePath}.lock`;
}

/**
 * Takes the lock on `path` (a file, created when missing, or a directory) for `what` (say, "cache
 * file /var/lib/x.json"), or throws a {@linkcode PermanentError} naming `what`, the holder's PID
 * where it can be told, and `fix`.
 */
export async function holdLock(path: string, what: string, fix: string): Promise<HeldLock> {
  let file: Deno.FsFile;
  try {
    const isDirectory = (await Deno.stat(path).catch(() => null))?.isDirectory;
    file = await Deno.open(
      path,
      isDirectory ? { read: true } : { read: true, write: true, create: true, mode: 0o600 },
    );
  } catch (error) {
    throw new PermanentError(`cannot open ${path} to lock ${what}: ${(error as Error).message}`);
  }
  const isFile = (await file.stat()).isFile;
  if (!await file.tryLock(true)) {
    const holder = isFile ? (await Deno.readTextFile(path).catch(() => "")).trim() : "";
    file.close();
    const pid = /^\d+$/.test(holder) ? ` (PID ${holder})` : "";
    throw new PermanentError(`${what} is in use by another process${pid}: ${fix}`);
  }
  if (isFile) {
    await file.truncate(0);
    await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
  }
  return {
    path,
    release: () => {
      try {
        file.close();
      } catch {
        // released already
      }
    },
  };
}

/**
 * Who holds the lock at `path`, looked at without taking it and without creating or writing
 * anything (for `check`): `null` when no one does (or there is no lock file), else `PID n`, or
 * `another process` when the holder did not write its PID.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { holdLock, lockHolder } from "./lock.ts";
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/c.lock`;
 * assert.equal(await lockHolder(path), null); // and no file was made
 * assert.equal(await Deno.stat(path).then(() => true, () => false), false);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function lockHolder(path: string): Promise<string | null> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  try {
    if (await file.tryLock(true)) {
      await file.unlock();
      return null;
    }
    const holder = (await file.stat()).isFile
      ? (await Deno.readTextFile(path).catch(() => "")).trim()
      : "";
    return /^\d+$/.test(holder) ? `PID ${holder}` : "another process";
  } finally {
    file.close();
  }
}
