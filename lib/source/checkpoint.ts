/**
 * The private cache file (SPEC §5): where capture stands in one log. One small JSON file, rewritten
 * atomically (temp file, fsync, rename, fsync of the folder), so that after any stop it holds either
 * the old position or the new one, never a torn mix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readCheckpoint, writeCheckpoint } from "./checkpoint.ts";
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/avl1.cache.json`;
 * const file = { dev: 1, ino: 2, head: "ab", headLength: 1024 };
 * await writeCheckpoint(path, {
 *   version: 1,
 *   path: "/var/log/spysocket.log",
 *   source: "avl1",
 *   generation: 0,
 *   offset: 41744,
 *   file,
 *   seenSize: 41744,
 * });
 * const saved = await readCheckpoint(path);
 * assert.equal(saved?.offset, 41744);
 * assert.equal(await readCheckpoint(`${path}.none`), null); // none yet: nothing captured
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { parseProperties } from "../base/properties.ts";
import { basename } from "../base/posix_path.ts";
import { writeFileAtomic } from "./atomic.ts";
import { PermanentError } from "../base/errors.ts";
import { type FileIdentity, headMatches } from "./identity.ts";

/** Where capture stands in one log. */
export interface Checkpoint {
  /** The cache file's format version. */
  version: 1;
  /** The log's path. */
  path: string;
  /** The source name. */
  source: string;
  /** The generation of the file the offset is in. */
  generation: number;
  /** The offset of the first byte not yet captured. */
  offset: number;
  /** The file that `generation` names. */
  file: FileIdentity;
  /**
   * The hash of the bytes before `offset` (`beforeHash` of identity.ts): with `file.head`, what
   * tells this file's text wherever it is found (renamed, copied, compressed). Absent in cache
   * files of earlier versions, and where the file could not be read at the time.
   */
  before?: string;
  /** The file's size when this was written: how much could be lost if the file disappears. */
  seenSize: number;
  /** When it was written (ISO 8601). */
  updated?: string;
}

/** A cache file that cannot be used, with the path and the reason. */
export class CheckpointError extends PermanentError {
  /** A cache file that cannot be used; `message` says how to start over. */
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

function isIdentity(value: unknown): value is FileIdentity {
  const v = value as FileIdentity;
  return !!v && typeof v === "object" && Number.isInteger(v.dev) && Number.isInteger(v.ino) &&
    typeof v.head === "string" && Number.isInteger(v.headLength);
}

/** Reads a cache file; `null` when there is none. Throws when it exists but is not valid. */
export async function readCheckpoint(path: string): Promise<Checkpoint | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw new CheckpointError(`cannot read cache file ${path}: ${(error as Error).message}`);
  }
  let data: Checkpoint;
  try {
    data = JSON.parse(text);
  } catch {
    throw new CheckpointError(
      `cache file ${path} is not valid JSON: move it away to start over (CouchDB keeps what was stored)`,
    );
  }
  if (
    data?.version !== 1 || typeof data.path !== "string" || typeof data.source !== "string" ||
    !Number.isSafeInteger(data.generation) || !Number.isSafeInteger(data.offset) ||
    data.offset < 0 ||
    !isIdentity(data.file)
  ) {
    throw new CheckpointError(
      `cache file ${path} is not a logcapture cache file: move it away to start over`,
    );
  }
  return { ...data, seenSize: Number.isSafeInteger(data.seenSize) ? data.seenSize : data.offset };
}

const encoder = new TextEncoder();

/** A position in a log: the generation, the offset of the next line, and the file it is in. */
export interface Position {
  /** The generation of the file the offset is in. */
  generation: number;
  /** Where the first line not yet captured starts. */
  offset: number;
  /** The file the offset is in. */
  file: FileIdentity;
  /** The hash of the bytes before `offset`, when known. */
  before?: string;
}

/**
 * The cache file of one log, owned by its capture: what it says now, and the one way it moves
 * (atomically, after the sink has the lines before the new position).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CacheFile, readCheckpoint } from "./checkpoint.ts";
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/avl1.cache.json`;
 * const cache = new CacheFile(path, { path: "/var/log/spysocket.log", source: "avl1" }, null);
 * const position = { generation: 0, offset: 41744, file: { dev: 1, ino: 2, head: "ab", headLength: 1024 } };
 * assert.equal(cache.holds(position), false);
 * await cache.commit(position, 50000);
 * assert.equal(cache.holds(position), true);
 * assert.equal((await readCheckpoint(path))?.seenSize, 50000);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class CacheFile {
  /** The cache file. */
  readonly path: string;
  readonly #log: { path: string; source: string };
  #current: Checkpoint | null;

  /** The cache file at `path` of the log `log`, which holds `current` (as read at the start). */
  constructor(path: string, log: { path: string; source: string }, current: Checkpoint | null) {
    this.path = path;
    this.#log = log;
    this.#current = current;
  }

  /** What it holds now; `null` before the first commit of a log never captured. */
  get current(): Checkpoint | null {
    return this.#current;
  }

  /** Whether it says `position` already (the same generation, offset and identity). */
  holds(position: Position): boolean {
    const c = this.#current;
    return c !== null && c.generation === position.generation && c.offset === position.offset &&
      c.file === position.file;
  }

  /**
   * Moves it to `position`; `seenSize` is how much of the file existed, which is what could be
   * lost if the file vanished before the next run.
   */
  async commit(position: Position, seenSize: number): Promise<void> {
    const next: Checkpoint = {
      version: 1,
      ...this.#log,
      ...position,
      seenSize: Math.max(position.offset, seenSize),
    };
    await writeCheckpoint(this.path, next);
    this.#current = next;
  }
}

/** Writes the cache file atomically. */
export async function writeCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  const data = { ...checkpoint, updated: new Date().toISOString() };
  try {
    await writeFileAtomic(path, encoder.encode(JSON.stringify(data, null, 2) + "\n"));
  } catch (error) {
    throw new CheckpointError(`cannot write cache file ${path}: ${(error as Error).message}`);
  }
}

/**
 * Why a cache file does not fit the log at `path`, or `null` when it fits or when the tailer's own
 * rules apply (the log gone, or another file at the path: a rotation, a rewrite, or a cache file
 * naming the wrong inode, where the tailer asks the caller where the file at the path stands). It
 * does not fit when its offset is past the end of the same file, or inside a line of it.
 */
export async function checkpointDisagreement(
  checkpoint: Checkpoint,
  path: string,
): Promise<string | null> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch {
    return null;
  }
  using _ = file;
  const info = await file.stat();
  const named = checkpoint.file;
  // The same file is known by its text (a copy of it, restored, is it); an empty one by its inode.
  const sameInode = (info.dev ?? 0) === named.dev && (info.ino ?? 0) === named.ino;
  if (named.headLength === 0 ? !sameInode : !await headMatches(file, named)) return null;
  if (checkpoint.offset > info.size) {
    return `its offset ${checkpoint.offset} is past the end of ${path} (${info.size} bytes)`;
  }
  if (checkpoint.offset > 0) {
    const before = new Uint8Array(1);
    await file.seek(checkpoint.offset - 1, Deno.SeekMode.Start);
    await file.read(before);
    if (before[0] !== 10) return `its offset ${checkpoint.offset} is inside a line of ${path}`;
  }
  return null;
}

/**
 * Reads a 2012 `logtail.history` (Java properties, `size.<path>=<bytes>`): the size recorded for
 * `logPath`, matched by exact path or by file name; `null` when it has none.
 */
export async function readLegacyHistory(
  historyPath: string,
  logPath: string,
): Promise<number | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(historyPath);
  } catch (error) {
    throw new CheckpointError(
      `cannot read history file ${historyPath}: ${(error as Error).message}`,
    );
  }
  const sizes = new Map<string, number>();
  for (const [key, value] of parseProperties(text)) {
    if (key.startsWith("size.") && /^\d+$/.test(value)) sizes.set(key.slice(5), Number(value));
  }
  const exact = sizes.get(logPath);
  if (exact !== undefined) return exact;
  for (const [path, size] of sizes) if (basename(path) === basename(logPath)) return size;
  return null;
}
