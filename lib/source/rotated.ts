/**
 * Finding the files a log was rotated to: the names logrotate gives (`LOG.1`, `LOG-20121101`,
 * either compressed, in the log's folder or the folders of `--rotated`), never any `LOG.*`
 * (`.bak`, `.swp`, a writer's `.written`); the one that holds the text a position was taken in,
 * known by its content (a copy, a compressed file, or the renamed file itself); and the ones rotated
 * after it, oldest first. The tailer reads them; this only finds them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findRotated } from "./rotated.ts";
 * import { readIdentity } from "./identity.ts";
 * import { LogFile } from "./log_file.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/app.log`, "first\n");
 * const before = await LogFile.open(`${dir}/app.log`);
 * const identity = await readIdentity(before);
 * before.close();
 * await Deno.rename(`${dir}/app.log`, `${dir}/app.log.1`);
 * const open = (name: string) => LogFile.open(name).catch(() => null);
 * const { found } = await findRotated(`${dir}/app.log`, [`${dir}/app.log.*`], identity, {}, open);
 * assert.equal(found?.name, `${dir}/app.log.1`);
 * found?.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { basename, dirname, join } from "../base/posix_path.ts";
import { type FileIdentity, headMatches, readIdentity, sameContent } from "./identity.ts";
import { COMPRESSED_SUFFIX, type Compression, LogFile } from "./log_file.ts";

/** The default rotated-file globs for a log path: `LOG.*` and `LOG-*`. */
export function defaultRotatedGlobs(path: string): string[] {
  return [`${path}.*`, `${path}-*`];
}

/**
 * What follows the log's name in a name logrotate gives a rotated file: a number (`.1`), or a date
 * (`-20121101`, `-2012-11-01`, `.20121101-1354`), then maybe a compression suffix.
 */
const ROTATED_SUFFIX = /^[.\-_]\d[\d._\-]*?(?:\.(?:gz|bz2|xz|zst|lz4|lzma|Z|z))?$/;

/**
 * Whether `name` is a name logrotate gives a rotated `log`: numbered or dated, compressed or not.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isRotatedName } from "./rotated.ts";
 * for (const name of ["app.log.1", "app.log.2.gz", "app.log-20121101", "app.log-2012-11-01.xz"]) {
 *   assert.equal(isRotatedName(name, "app.log"), true, name);
 * }
 * for (const name of ["app.log.bak", "app.log.swp", "app.log.written", "app.logger", "app.log"]) {
 *   assert.equal(isRotatedName(name, "app.log"), false, name);
 * }
 * ```
 */
export function isRotatedName(name: string, log: string): boolean {
  return name.startsWith(log) && ROTATED_SUFFIX.test(name.slice(log.length));
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

/**
 * The rotated files of `logPath` that `patterns` match. Where a glob names files after the log
 * (`LOG*`), only logrotate's names count; a glob of another shape is taken as the operator wrote it.
 */
export async function rotatedNames(logPath: string, patterns: string[]): Promise<string[]> {
  const log = basename(logPath);
  const names = new Set<string>();
  for (const pattern of patterns) {
    const afterLog = basename(pattern).startsWith(log);
    for (const name of await globFiles(pattern)) {
      if (name === logPath || (afterLog && !isRotatedName(basename(name), log))) continue;
      names.add(name);
    }
  }
  return [...names];
}

/** Opens a file that is there; `null` when it is gone (one that cannot be read may be waited for). */
export type OpenLog = (name: string, mustWait: boolean) => Promise<LogFile | null>;

/** A rotated file capture cannot read: compressed by a tool it does not read, or not yet whole. */
export interface UnreadableRotated {
  /** The rotated file. */
  name: string;
  /** Its compressor, or `null` for a compressed file that is corrupt or not yet whole. */
  compression: Compression;
  /** Its size on disk. */
  bytes: number;
}

/**
 * The rotated file that holds the text `identity` names (and, with `at`, the same bytes before
 * `at.offset`): the renamed file itself (its inode) first, then copies of its text, plain files
 * before compressed ones (only the renamed file with `which: "renamed"`); and the compressed files
 * that could not be looked into.
 */
export async function findRotated(
  logPath: string,
  patterns: string[],
  identity: FileIdentity,
  at: { offset?: number; before?: string },
  open: OpenLog,
  which: "renamed" | "any" = "any",
): Promise<{ found: LogFile | null; unreadable: UnreadableRotated[] }> {
  const unreadable: UnreadableRotated[] = [];
  const names = await rotatedNames(logPath, patterns);
  // The renamed file itself first (the same inode), then plain files, then compressed ones.
  const ranked: { name: string; rank: number }[] = [];
  for (const name of names) {
    const info = await Deno.stat(name).catch(() => null);
    if (!info) continue;
    const sameInode = info.ino === identity.ino && info.dev === identity.dev;
    // An empty file is only ever the empty file sought itself.
    if ((info.size === 0 || which === "renamed") && !sameInode) continue;
    ranked.push({ name, rank: sameInode ? 0 : COMPRESSED_SUFFIX.test(name) ? 2 : 1 });
  }
  ranked.sort((a, b) => a.rank - b.rank || a.name.localeCompare(b.name));
  const position = at.offset === undefined ? undefined : { offset: at.offset, before: at.before };
  for (const { name, rank } of ranked) {
    // Only the file with the inode sought is waited for when it cannot be read: an unreadable
    // unrelated file must not hold capture up.
    const file = await open(name, rank === 0);
    if (!file) continue;
    if (!file.readable) {
      unreadable.push({ name, compression: file.compression, bytes: (await file.stat()).size });
      file.close();
      continue;
    }
    if (await sameContent(file, identity, position).catch(() => false) && await file.isWhole()) {
      return { found: file, unreadable };
    }
    file.close();
  }
  return { found: null, unreadable };
}

/**
 * The rotated files written after `since` (a modification time, in ms) that hold text other than
 * `exclude`'s (the file already being read), oldest first: files rotated more than once since
 * capture last looked. Compressed files are read like plain ones; a plain file and its compressed
 * copy (while logrotate compresses it) count once; an empty rotation counts (it was a file at the
 * path), an empty compressed name does not (its compression has not begun). Times come from a
 * coarse clock, so two files written within a tick have the same one: with `tiedAfter`, the name of
 * the file `since` is the time of, a file of the same time counts when logrotate's numbering puts
 * it after that one.
 */
export async function rotatedAfter(
  logPath: string,
  patterns: string[],
  since: number,
  exclude: ReadText[],
  open: OpenLog,
  tiedAfter?: string,
): Promise<{ files: LogFile[]; unreadable: UnreadableRotated[] }> {
  const unreadable: UnreadableRotated[] = [];
  const later: { file: LogFile; mtime: number; head: string; size: number; plain: boolean }[] = [];
  for (const name of await rotatedNames(logPath, patterns)) {
    // Older rotations are not read, so only a newer one is waited for when it cannot be read.
    const seen = await Deno.stat(name).catch(() => null);
    const mtime = seen?.mtime?.getTime() ?? 0;
    const tied = mtime === since && tiedAfter !== undefined &&
      rotationNumber(name) < rotationNumber(tiedAfter);
    if (!seen || (mtime <= since && !tied)) continue;
    // An empty rotation (logrotate's ifempty) was a file at the path, and is numbered as it was
    // while capture ran; an empty compressed name is a compression that has not begun.
    if (seen.size === 0 && COMPRESSED_SUFFIX.test(name)) continue;
    const file = await open(name, true);
    if (!file) continue;
    const info = await file.stat();
    if (!file.readable) {
      unreadable.push({ name, compression: file.compression, bytes: info.size });
      file.close();
      continue;
    }
    const identity = await readIdentity(file).catch(() => null);
    if (!identity) {
      unreadable.push({ name, compression: null, bytes: info.size });
      file.close();
      continue;
    }
    const head = identity.head, size = await file.size(), plain = file.compression === null;
    // A rotated file and its compressed twin (delaycompress, or a compression under way) hold one
    // text: it is read once, from the plain file. Two plain files of one text are two files.
    const twin = identity.headLength === 0
      ? undefined
      : later.find((l) => l.head === head && l.size === size && l.plain !== plain);
    if (await holdsAny(file, exclude) || (twin && twin.plain) || !await file.isWhole()) {
      file.close();
      continue;
    }
    if (twin) {
      twin.file.close();
      later.splice(later.indexOf(twin), 1);
    }
    later.push({ file, mtime: info.mtime?.getTime() ?? 0, head, size, plain });
  }
  // Oldest first; logrotate's numbering (.2 before .1) breaks ties.
  later.sort((a, b) =>
    a.mtime - b.mtime || rotationNumber(b.file.name) - rotationNumber(a.file.name) ||
    a.file.name.localeCompare(b.file.name)
  );
  return { files: later.map((l) => l.file), unreadable };
}

/**
 * A file already read: its identity and, when known, how much of its text was read and the hash of
 * the bytes before that end, so that only the file itself or a copy of exactly that text (its
 * compressed twin) is left out, never another file that happens to begin the same way.
 */
export interface ReadText {
  /** The file whose text it is. */
  identity: FileIdentity;
  /** How much of that text was read. */
  size: number;
  /** The hash of the bytes before `size`. */
  before?: string;
}

/** Whether `file` is one of the files already read, or a compressed copy of one's text. */
async function holdsAny(file: LogFile, read: ReadText[]): Promise<boolean> {
  for (const { identity, size, before } of read) {
    // Its own inode, still holding its text: a freed inode can be given to a new file.
    if (
      file.ino === identity.ino && file.dev === identity.dev &&
      (identity.headLength === 0 || await headMatches(file, identity))
    ) {
      return true;
    }
    // Its compressed copy; a plain file of the same text at another inode is another file (two
    // files that each hold one blank line, say).
    if (
      file.compression !== null && await file.size() === size &&
      await sameContent(file, identity, { offset: size, before })
    ) {
      return true;
    }
  }
  return false;
}

function rotationNumber(name: string): number {
  const m = /\.(\d+)(?:\.[a-zA-Z0-9]+)?$/.exec(name);
  return m ? Number(m[1]) : 0;
}
