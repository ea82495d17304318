/**
 * `capture verify`: whether the log is in CouchDB once, byte range by byte range. The log and its
 * rotated files (compressed ones too) are known by their file id; what CouchDB holds of the source
 * is swept in id order (`stored_ranges.ts`), and for each file it says which ranges are stored
 * once, missing, stored more than once, or stored beyond what the file holds. What lies past the
 * cache file's position, or in a file newer than the one it names, is not yet captured, not
 * missing. It changes nothing in CouchDB; its result is kept for `/metrics` (`verify_result.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeVerify, verifyLog } from "./verify.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.log`, "line one\nline two\n");
 * const db = { allDocs: () => Promise.resolve([]), getDocument: () => Promise.resolve(null) };
 * const report = await verifyLog({
 *   path: `${dir}/a.log`,
 *   source: "avl1",
 *   cachePath: `${dir}/none.json`,
 *   mode: "feed",
 *   db,
 * });
 * assert.equal(report.complete, false);
 * assert.deepEqual(report.files[0].missing, [{ start: 0, end: 18, firstLine: "line one" }]);
 * assert.match(describeVerify(report), /missing: .*a\.log bytes 0-18/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { parseDuration } from "../base/units.ts";
import { readCheckpoint } from "../source/checkpoint.ts";
import {
  type FileIdentity,
  type FileRef,
  headMatches,
  readIdentity,
  sameFile,
} from "../source/identity.ts";
import { LogFile } from "../source/log_file.ts";
import { defaultRotatedGlobs, rotatedNames } from "../source/rotated.ts";
import type { StoreMode } from "../sink/store.ts";
import {
  type DocumentReader,
  generationFile,
  storedGenerations,
} from "../sink/stored_generations.ts";
import { type StoredRange, storedRanges } from "../sink/stored_ranges.ts";
import type { LineFormat } from "../format/line_format.ts";
import { feedDifference, recordDifference } from "./verify_deep.ts";

/** What to verify. */
export interface VerifySettings {
  /** The log. */
  path: string;
  /** Where rotated files go (globs); logrotate's names by default. */
  rotated?: string[];
  /** The source the documents name. */
  source: string;
  /** The cache file: past its position is not yet captured. */
  cachePath: string;
  /** How the source is stored. */
  mode: StoreMode;
  /** The database. */
  db: DocumentReader;
  /**
   * `--deep`: each stored range is formatted again from the log (`verify_deep.ts`) and compared
   * with what CouchDB holds: a feed document's CSV (`attachment`), a records document's members.
   */
  deep?: {
    format: LineFormat;
    attachment: (id: string, name: string) => Promise<Uint8Array | null>;
  };
  /** `--since`: only what was written after a time, or from a generation (and offset) on. */
  since?: VerifySince;
}

/**
 * Where `--since` starts: the files written after a time (ms since the epoch), or a generation
 * and an offset in it (the generations after it in full).
 */
export type VerifySince = { writtenAfter: number } | { generation: number; offset: number };

/**
 * `--since`'s value: a duration with its unit (`6h`, `2d`, `90m`), a generation (`41`), or a
 * generation and an offset in it (`41:1048576`); `null` when it is none of these.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSince } from "./verify.ts";
 * assert.deepEqual(parseSince("2h", 10_000_000), { writtenAfter: 2_800_000 });
 * assert.deepEqual(parseSince("41:4096"), { generation: 41, offset: 4096 });
 * assert.equal(parseSince("yesterday"), null);
 * ```
 */
export function parseSince(text: string, now = Date.now()): VerifySince | null {
  const position = /^(\d+)(?::(\d+))?$/.exec(text.trim());
  if (position) return { generation: Number(position[1]), offset: Number(position[2] ?? 0) };
  if (!/[a-z]\s*$/i.test(text)) return null;
  const ms = parseDuration(text);
  return Number.isFinite(ms) ? { writtenAfter: now - ms } : null;
}

/** A stored document whose content is not what its range of the log gives (`--deep`). */
export interface ContentDifference {
  /** The document. */
  id: string;
  /** The file its range is of. */
  name: string;
  /** Its range. */
  start: number;
  /** Its range's end. */
  end: number;
  /** What differs: the first line of the CSV (0: the header) that differs, or the rejected count. */
  what: string;
}

/** A byte range of a file. */
export interface ByteRange {
  /** Its first byte. */
  start: number;
  /** Just past its last byte. */
  end: number;
  /** The first line at `start`, for a range that is missing (up to 120 bytes). */
  firstLine?: string;
}

/** What CouchDB holds of one file of the log. */
export interface FileCoverage {
  /** The file's name. */
  name: string;
  /** Its file id (SPEC §3); `null` while it holds no whole line. */
  fileId: string | null;
  /** The bytes of its text. */
  size: number;
  /** The generations its documents are under. */
  generations: number[];
  /** Bytes stored exactly once. */
  storedOnce: number;
  /** Ranges no document holds. */
  missing: ByteRange[];
  /** Ranges more than one document holds. */
  doubled: ByteRange[];
  /** Ranges stored beyond what the file holds (it was rewritten, or the documents are not its). */
  beyond: ByteRange[];
  /** Bytes not yet captured: past the cache file's position, or in a file newer than its file. */
  pending: number;
  /** Documents of it. */
  documents: number;
}

/** A file CouchDB holds that is not on this host (rotated away and removed): not checked. */
export interface ElsewhereFile {
  /** Its file id, when its documents name one. */
  fileId: string | null;
  /** Its generation. */
  generation: number;
  /** Documents of it. */
  documents: number;
  /** Bytes they hold. */
  bytes: number;
}

/** What `verify` found. */
export interface VerifyReport {
  /** The source. */
  source: string;
  /** How it is stored. */
  mode: StoreMode;
  /** The log's files, newest first. */
  files: FileCoverage[];
  /** Files CouchDB holds that are not on this host. */
  elsewhere: ElsewhereFile[];
  /** Documents under the source's ids that are not logcapture's (at most 20 named). */
  foreign: string[];
  /** How many foreign documents there are. */
  foreignCount: number;
  /** Documents read. */
  documents: number;
  /** The log's files left out by `--since` (written before it). */
  skipped: string[];
  /** Documents whose content differs from their range of the log (`--deep`; at most 20 named). */
  differences: ContentDifference[];
  /** How many differ. */
  differenceCount: number;
  /** Nothing missing, doubled, beyond or foreign. */
  complete: boolean;
}

/** A file to verify: on this host (`log`), or as a manifest describes it (`log` null). */
export interface VerifiedFile {
  /** What is found of it. */
  coverage: FileCoverage;
  /** The file, where it is on this host. */
  log: LogFile | null;
  /** Its identity. */
  identity: FileIdentity;
  /** Its modification time (ms). */
  mtime: number;
  /** Where it stops being captured yet (Infinity: all of it was captured when looked at). */
  pendingFrom: number;
  /** Where its check begins (`--since` a generation and offset); 0 by default. */
  checkFrom: number;
  /** Checked; `--since` leaves out the files written before it. */
  inScope: boolean;
  /** Ranges in extracts waiting in a drop directory, in offset order: not yet captured. */
  waiting: ByteRange[];
  /** Stored ranges, contiguous ones merged as they come: as many as there are discontinuities. */
  runs: ByteRange[];
  /** `--deep`: the file read a window at a time (records mode asks for it line by line). */
  readAhead?: ReadAhead;
}

/**
 * Ranges of a file read in order, a window of at least 1 MiB at a time: `--deep` in records mode
 * reads line by line, a read each would cost three times the check itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LogFile } from "../source/log_file.ts";
 * import { ReadAhead } from "./verify.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "one\ntwo\n");
 * const log = await LogFile.open(path);
 * const reader = new ReadAhead(log);
 * assert.equal(new TextDecoder().decode(await reader.read(4, 8)), "two\n");
 * log.close();
 * await Deno.remove(path);
 * ```
 */
export class ReadAhead {
  readonly #log: LogFile;
  #start = 0;
  #bytes: Uint8Array = new Uint8Array(0);

  /** A reader of `log`, nothing read yet. */
  constructor(log: LogFile) {
    this.#log = log;
  }

  /** The bytes `[start, end)`. */
  async read(start: number, end: number): Promise<Uint8Array> {
    if (start < this.#start || end > this.#start + this.#bytes.length) {
      this.#start = start;
      this.#bytes = await this.#log.readAt(start, Math.max(end - start, 1 << 20));
    }
    return this.#bytes.subarray(start - this.#start, end - this.#start);
  }
}

/** Verifies the log against what CouchDB holds; see the module example. */
export async function verifyLog(settings: VerifySettings): Promise<VerifyReport> {
  const files = await localFiles(settings);
  try {
    return await verifyFiles(files, settings);
  } finally {
    for (const file of files) file.log?.close();
  }
}

/** What CouchDB holds of `files`, swept range by range. */
export async function verifyFiles(
  files: VerifiedFile[],
  settings: Pick<VerifySettings, "db" | "source" | "mode" | "deep" | "since">,
): Promise<VerifyReport> {
  const report: VerifyReport = {
    source: settings.source,
    mode: settings.mode,
    files: [],
    elsewhere: [],
    foreign: [],
    foreignCount: 0,
    documents: 0,
    skipped: [],
    differences: [],
    differenceCount: 0,
    complete: false,
  };
  // One matcher for the whole check: it reads a file's first bytes once per stored file.
  const matches = localMatcher(files);
  const generations = settings.since ? await applySince(files, matches, settings) : undefined;
  const checked = files.filter((f) => f.inScope);
  report.files = checked.map((f) => f.coverage);
  report.skipped = files.filter((f) => !f.inScope).map((f) => f.coverage.name);
  const elsewhere = new Map<string, ElsewhereFile>();
  const ranges = storedRanges(settings.db, settings.source, settings.mode, 1000, generations);
  for await (const range of ranges) {
    report.documents++;
    if (range.foreign) {
      if (report.foreignCount++ < 20) report.foreign.push(range.id);
      continue;
    }
    const local = range.file && await matches(range.file);
    if (!local) {
      const fileId = range.file?.id ?? null;
      const key = `${range.generation}:${fileId}`;
      const held = elsewhere.get(key) ??
        { fileId, generation: range.generation, documents: 0, bytes: 0 };
      held.documents++;
      held.bytes += range.end - range.start;
      elsewhere.set(key, held);
      continue;
    }
    if (!local.inScope) continue;
    const coverage = local.coverage;
    coverage.documents++;
    const difference = await deepDifference(local, range, settings);
    if (difference && report.differenceCount++ < 20) report.differences.push(difference);
    if (!coverage.generations.includes(range.generation)) {
      coverage.generations.push(range.generation);
    }
    const last = local.runs.at(-1);
    if (last && last.end === range.start) last.end = range.end;
    else local.runs.push({ start: range.start, end: range.end });
  }
  report.elsewhere = [...elsewhere.values()];
  const records = settings.mode === "records";
  for (const file of checked) await sweep(file, records);
  report.complete = report.foreignCount === 0 && report.differenceCount === 0 &&
    report.files.every((f) => !f.missing.length && !f.doubled.length && !f.beyond.length);
  return report;
}

/**
 * Which files `--since` leaves in, and the generations to read: from the first that holds a file
 * written after its time, or from its generation (the file of that generation checked from its
 * offset). A file no generation holds is left in when it is newer than those left out.
 */
async function applySince(
  files: VerifiedFile[],
  matches: (file: FileRef) => Promise<VerifiedFile | null>,
  settings: Pick<VerifySettings, "db" | "source" | "since">,
): Promise<number[]> {
  const since = settings.since!;
  const all = await storedGenerations(settings.db, settings.source);
  const fileOf = new Map<number, VerifiedFile | null>();
  for (const generation of all) {
    const named = await generationFile(settings.db, settings.source, generation);
    fileOf.set(generation, named && named !== "unknown" ? await matches(named) : null);
  }
  const held = (from: number, to: number) =>
    new Set(all.filter((g) => g >= from && g < to).map((g) => fileOf.get(g)).filter((f) => !!f));
  let start: number;
  if ("writtenAfter" in since) {
    for (const file of files) file.inScope = file.mtime >= since.writtenAfter;
    start = all.find((g) => fileOf.get(g)?.inScope) ?? (all.at(-1) ?? -1) + 1;
  } else {
    start = since.generation;
    const after = held(start, Infinity);
    const before = [...held(-Infinity, start)].filter((f) => !after.has(f!));
    const newestBefore = Math.max(-Infinity, ...before.map((f) => f!.mtime));
    for (const file of files) {
      file.inScope = after.has(file) || (!before.includes(file) && file.mtime > newestBefore);
    }
    const first = fileOf.get(start);
    if (first) first.checkFrom = Math.min(since.offset, first.coverage.size);
  }
  return all.filter((g) => g >= start);
}

/** `--deep`: how a stored range differs from its bytes of the log formatted again. */
async function deepDifference(
  local: VerifiedFile,
  range: StoredRange,
  settings: Pick<VerifySettings, "deep">,
): Promise<ContentDifference | null> {
  const deep = settings.deep;
  if (!deep || !local.log || range.end > local.coverage.size) return null;
  local.readAhead ??= new ReadAhead(local.log);
  const data = await local.readAhead.read(range.start, range.end);
  let what: string | null;
  if (range.doc) what = recordDifference(data, range.start, range.doc, deep.format);
  else {
    const csv = await deep.attachment(range.id, "feed");
    what = csv
      ? feedDifference(data, range.start, { ...range, csv }, deep.format)
      : "its CSV attachment is gone";
  }
  return what === null
    ? null
    : { id: range.id, name: local.coverage.name, start: range.start, end: range.end, what };
}

/**
 * The local file a stored file is, found once per stored file: by file id, else by its text (the
 * hash of its first bytes), which a copy keeps (copytruncate's copy, a compressed rotation, a
 * restore); `null` when none is on this host.
 */
function localMatcher(files: VerifiedFile[]): (file: FileRef) => Promise<VerifiedFile | null> {
  const found = new Map<string, VerifiedFile | null>();
  return async (file) => {
    const key = JSON.stringify(file);
    if (found.has(key)) return found.get(key)!;
    let local = files.find((f) => sameFile(f.identity, file)) ?? null;
    if (!local && "head" in file) {
      for (const candidate of files) {
        const sameHead = candidate.log
          ? await headMatches(candidate.log, file)
          : candidate.identity.head === file.head &&
            candidate.identity.headLength === file.headLength;
        if (sameHead) {
          local = candidate;
          break;
        }
      }
    }
    found.set(key, local);
    return local;
  };
}

/** Where the log and its cache file are. */
export type LogPlace = Pick<VerifySettings, "path" | "rotated" | "cachePath">;

/** The log and its rotated files that hold text, newest first, a file and its compressed twin once. */
export async function localFiles(settings: LogPlace): Promise<VerifiedFile[]> {
  const globs = settings.rotated ?? defaultRotatedGlobs(settings.path);
  const names = [settings.path, ...await rotatedNames(settings.path, globs)];
  const files: VerifiedFile[] = [];
  for (const name of names) {
    const log = await LogFile.open(name).catch(() => null);
    if (!log) continue;
    const identity = await readIdentity(log);
    const size = await log.size();
    // A rotated file and its compressed twin hold the same text: one of them is checked.
    const twin = files.some((f) =>
      f.identity.head === identity.head && f.identity.headLength === identity.headLength &&
      f.coverage.size === size
    );
    if (twin || size === 0) {
      log.close();
      continue;
    }
    const mtime = (await log.stat()).mtime?.getTime() ?? 0;
    files.push(verifiedFile(newCoverage(name, identity, size), log, identity, mtime));
  }
  files.sort((a, b) => b.mtime - a.mtime);
  await notePending(settings, files);
  return files;
}

/**
 * Where each file stops being captured yet: the cache file's offset in its own file, 0 in a file
 * newer than that one (written after it, nothing of it stored), and, in the file at the path, its
 * unterminated last line (it waits for its newline).
 */
async function notePending(settings: LogPlace, files: VerifiedFile[]): Promise<void> {
  const checkpoint = await readCheckpoint(settings.cachePath).catch(() => null);
  const named = checkpoint && await localMatcher(files)(checkpoint.file);
  for (const file of files) {
    if (named === file) file.pendingFrom = checkpoint!.offset;
    else if (named && file.mtime > named.mtime) file.pendingFrom = 0;
  }
  const atPath = files.find((f) => f.coverage.name === settings.path);
  if (atPath?.log && atPath.log.compression === null && atPath.coverage.size > 0) {
    const size = atPath.coverage.size;
    const tail = await atPath.log.readAt(Math.max(0, size - 65536), Math.min(size, 65536));
    const lastNewline = tail.lastIndexOf(10);
    const wholeEnd = lastNewline < 0 ? size - tail.length : size - tail.length + lastNewline + 1;
    if (wholeEnd < size) atPath.pendingFrom = Math.min(atPath.pendingFrom, wholeEnd);
  }
}

/** A file's coverage before anything stored is known. */
export function newCoverage(name: string, identity: FileIdentity, size: number): FileCoverage {
  return {
    name,
    fileId: identity.id ?? null,
    size,
    generations: [],
    storedOnce: 0,
    missing: [],
    doubled: [],
    beyond: [],
    pending: 0,
    documents: 0,
  };
}

/** A file to verify, all of it, captured in full as far as is known yet. */
export function verifiedFile(
  coverage: FileCoverage,
  log: LogFile | null,
  identity: FileIdentity,
  mtime: number,
): VerifiedFile {
  const file = { coverage, log, identity, mtime, pendingFrom: Infinity, checkFrom: 0 };
  return { ...file, inScope: true, waiting: [], runs: [] };
}

/**
 * Sorts a file's runs and says which ranges are stored once, missing, doubled or beyond it. A gap
 * past where the file stops being captured, or in an extract still waiting, is pending.
 */
async function sweep(file: VerifiedFile, blankLinesOnly: boolean): Promise<void> {
  const { log, pendingFrom, checkFrom } = file;
  const coverage = file.coverage;
  const size = coverage.size;
  const missing = async (start: number, end: number) => {
    // Records mode stores no document for a blank line: blank lines are not missing.
    if (blankLinesOnly && log && await onlyBlankLines(log, start, end)) return;
    const firstLine = log ? await lineAt(log, start) : undefined;
    coverage.missing.push({ start, end, ...(firstLine === undefined ? {} : { firstLine }) });
  };
  const gap = async (start: number, end: number) => {
    const pendingStart = Math.max(start, Math.min(end, pendingFrom));
    coverage.pending += end - pendingStart;
    let at = start;
    for (const waiting of file.waiting) {
      if (waiting.end <= at || waiting.start >= pendingStart) continue;
      if (waiting.start > at) await missing(at, waiting.start);
      const to = Math.min(waiting.end, pendingStart);
      coverage.pending += to - Math.max(at, waiting.start);
      at = to;
    }
    if (at < pendingStart) await missing(at, pendingStart);
  };
  let covered = checkFrom;
  for (const run of file.runs.sort((a, b) => a.start - b.start)) {
    if (run.end <= checkFrom) continue;
    const start = Math.max(run.start, checkFrom);
    if (start > covered) await gap(covered, Math.min(start, size));
    if (start < covered) coverage.doubled.push({ start, end: Math.min(run.end, covered) });
    if (run.end > size) coverage.beyond.push({ start: Math.max(start, size), end: run.end });
    coverage.storedOnce += Math.max(0, Math.min(run.end, size) - Math.max(start, covered));
    covered = Math.max(covered, run.end);
  }
  if (covered < size) await gap(covered, size);
  file.runs = [];
}

/** Whether `[start, end)` holds blank lines only (a gap of at most 64 KiB is looked at). */
async function onlyBlankLines(log: LogFile, start: number, end: number): Promise<boolean> {
  if (end - start > 65536) return false;
  const bytes = await log.readAt(start, end - start);
  return bytes.every((b) => b === 10 || b === 13 || b === 32 || b === 9);
}

/** The line at `offset`, up to 120 bytes, for a person to find it. */
async function lineAt(log: LogFile, offset: number): Promise<string> {
  const bytes = await log.readAt(offset, 120);
  const end = bytes.indexOf(10);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/** The report as a person reads it: a line a file, then each range that is wrong. */
export function describeVerify(report: VerifyReport): string {
  const n = (value: number) => value.toLocaleString("en-US");
  const lines = [
    `verify: source ${report.source}, ${report.mode} mode, ${n(report.documents)} documents`,
  ];
  for (const f of report.files) {
    const wrong = f.missing.length + f.doubled.length + f.beyond.length;
    lines.push(
      `  ${f.name} (file ${f.fileId ?? "with no whole line yet"}${
        f.generations.length ? `, generation ${f.generations.join(", ")}` : ""
      }): ${n(f.size)} bytes, ${n(f.storedOnce)} stored once${
        f.pending ? `, ${n(f.pending)} not yet captured` : ""
      }${wrong ? "" : f.pending ? "" : ": complete"}`,
    );
  }
  const at = (f: FileCoverage, r: ByteRange) =>
    `${f.name} bytes ${r.start}-${r.end} (${n(r.end - r.start)} bytes)`;
  for (const f of report.files) {
    for (const r of f.missing) {
      lines.push(
        `missing: ${at(f, r)}${r.firstLine === undefined ? "" : `, first line "${r.firstLine}"`}`,
      );
    }
    for (const r of f.doubled) lines.push(`stored more than once: ${at(f, r)}`);
    for (const r of f.beyond) lines.push(`stored beyond what the file holds: ${at(f, r)}`);
  }
  for (const d of report.differences) {
    lines.push(`stored differently: ${d.name} bytes ${d.start}-${d.end} (${d.id}): ${d.what}`);
  }
  for (const e of report.elsewhere) {
    lines.push(
      `  in CouchDB, not on this host: generation ${e.generation} (file ${
        e.fileId ?? "unnamed"
      }), ${n(e.documents)} documents, ${n(e.bytes)} bytes (rotated away and removed: not checked)`,
    );
  }
  if (report.skipped.length) {
    lines.push(`  not checked (written before --since): ${report.skipped.join(", ")}`);
  }
  if (report.foreignCount) {
    lines.push(
      `foreign documents (under this source's ids, not logcapture's): ${report.foreignCount}: ${
        report.foreign.join(", ")
      }${report.foreignCount > report.foreign.length ? ", ..." : ""}`,
    );
  }
  lines.push(
    report.complete
      ? `complete: every byte captured so far is in CouchDB once`
      : `not complete: see the ranges above`,
  );
  return lines.join("\n");
}
