/**
 * Finding the files a log was rotated to: by the globs of `--rotated` (`LOG.*` and `LOG-*` by
 * default), the one that is a given file (by device, inode and first bytes), and the ones rotated
 * after it, oldest first, compressed ones left out. The tailer reads them; this only finds them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findRotated } from "./rotated.ts";
 * import { readIdentity } from "./identity.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/app.log`, "first\n");
 * using before = await Deno.open(`${dir}/app.log`);
 * const identity = await readIdentity(before);
 * await Deno.rename(`${dir}/app.log`, `${dir}/app.log.1`);
 * const open = (name: string) => Deno.open(name).catch(() => null);
 * const found = await findRotated([`${dir}/app.log.*`], identity, open);
 * assert.equal(found?.name, `${dir}/app.log.1`);
 * found?.file.close();
 * ```
 * @module
 */
import { basename, dirname, join } from "node:path";
import { type FileIdentity, matchesIdentity } from "./identity.ts";

/** The default rotated-file globs for a log path: `LOG.*` and `LOG-*`. */
export function defaultRotatedGlobs(path: string): string[] {
  return [`${path}.*`, `${path}-*`];
}

/** The files matching a glob whose wildcards (`*`, `?`) are in the file-name part only. */
export async function globFiles(pattern: string): Promise<string[]> {
  const folder = dirname(pattern);
  const escaped = basename(pattern).replace(/[.+^${}()|[\]\\]/g, "\\$&");
  const re = new RegExp(`^${escaped.replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
  const out: string[] = [];
  try {
    for await (const entry of Deno.readDir(folder)) {
      if (entry.isFile && re.test(entry.name)) out.push(join(folder, entry.name));
    }
  } catch {
    // A missing folder has no rotated files.
  }
  return out.sort();
}

/** A file that is there, open; or `null` when it is gone (one that cannot be read is waited for). */
export type OpenWaiting = (name: string) => Promise<Deno.FsFile | null>;

/** The rotated file, among those `patterns` match, that is the file `identity` names; or `null`. */
export async function findRotated(
  patterns: string[],
  identity: FileIdentity,
  open: OpenWaiting,
): Promise<{ file: Deno.FsFile; name: string } | null> {
  for (const pattern of patterns) {
    for (const name of await globFiles(pattern)) {
      // Only a file with the inode sought is waited for when it cannot be read (a stat needs
      // no read access): an unreadable unrelated file must not hold capture up.
      const info = await Deno.stat(name).catch(() => null);
      if (!info || info.ino !== identity.ino || info.dev !== identity.dev) continue;
      const file = await open(name);
      if (!file) continue;
      if (await matchesIdentity(file, identity)) return { file, name };
      file.close();
    }
  }
  return null;
}

/**
 * The rotated files written after `found` (a later modification time), other than the file now at
 * the path: files rotated more than once while capture was stopped, oldest first. Compressed
 * files are left out: their lines were in a file that was read before it was compressed.
 */
export async function rotatedAfter(
  patterns: string[],
  found: Deno.FsFile,
  atPath: Deno.FsFile | null,
  open: OpenWaiting,
): Promise<{ file: Deno.FsFile; name: string }[]> {
  const foundInfo = await found.stat();
  const skip = new Set([foundInfo.ino, atPath ? (await atPath.stat()).ino : -1]);
  const since = foundInfo.mtime?.getTime() ?? 0;
  const names = new Set<string>();
  for (const pattern of patterns) {
    for (const name of await globFiles(pattern)) names.add(name);
  }
  const later: { file: Deno.FsFile; name: string; mtime: number }[] = [];
  for (const name of names) {
    // Older rotations are not read, so only a newer one is waited for when it cannot be read.
    const seen = await Deno.stat(name).catch(() => null);
    if (!seen || skip.has(seen.ino) || (seen.mtime?.getTime() ?? 0) <= since) continue;
    const file = await open(name);
    if (!file) continue;
    const info = await file.stat();
    const mtime = info.mtime?.getTime() ?? 0;
    if (skip.has(info.ino) || mtime <= since || await isCompressed(file)) {
      file.close();
      continue;
    }
    skip.add(info.ino);
    later.push({ file, name, mtime });
  }
  // Oldest first; logrotate's numbering (.2 before .1) breaks ties.
  return later.sort((a, b) => a.mtime - b.mtime || b.name.localeCompare(a.name));
}

/** Whether a file starts like gzip, bzip2, xz or zstd data. */
async function isCompressed(file: Deno.FsFile): Promise<boolean> {
  const head = new Uint8Array(4);
  await file.seek(0, Deno.SeekMode.Start);
  const n = (await file.read(head)) ?? 0;
  await file.seek(0, Deno.SeekMode.Start);
  const magic = Array.from(head.subarray(0, n));
  const starts = (bytes: number[]) => bytes.every((b, i) => magic[i] === b);
  return starts([0x1f, 0x8b]) || starts([0x42, 0x5a, 0x68]) || starts([0xfd, 0x37, 0x7a, 0x58]) ||
    starts([0x28, 0xb5, 0x2f, 0xfd]);
}
