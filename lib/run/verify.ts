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
 * ```
 * @module
 */
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
import type { DocumentReader } from "../sink/stored_generations.ts";
import { type StoredRange, storedRanges } from "../sink/stored_ranges.ts";
import { ByteWriter } from "../base/bytes.ts";
import type { LineFormat } from "../format/line_format.ts";

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
   * `--deep` (feed mode): each stored range is formatted again from the log (the year of its
   * reports, unless fixed, inferred from when the document was stored) and compared with the CSV
   * CouchDB holds (`attachment`).
   */
  deep?: {
    format: LineFormat;
    attachment: (id: string, name: string) => Promise<Uint8Array | null>;
  };
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
  /** Documents whose content differs from their range of the log (`--deep`; at most 20 named). */
  differences: ContentDifference[];
  /** How many differ. */
  differenceCount: number;
  /** Nothing missing, doubled, beyond or foreign. */
  complete: boolean;
}

/** A file to verify: on this host (`log`), or as a manifest describes it (`log` null). */
interface VerifiedFile {
  coverage: FileCoverage;
  log: LogFile | null;
  identity: FileIdentity;
  mtime: number;
  /** Where it stops being captured yet (Infinity: all of it was captured when looked at). */
  pendingFrom: number;
  /** Stored ranges, contiguous ones merged as they come: as many as there are discontinuities. */
  runs: ByteRange[];
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
async function verifyFiles(
  files: VerifiedFile[],
  settings: Pick<VerifySettings, "db" | "source" | "mode" | "deep">,
): Promise<VerifyReport> {
  {
    const report: VerifyReport = {
      source: settings.source,
      mode: settings.mode,
      files: files.map((f) => f.coverage),
      elsewhere: [],
      foreign: [],
      foreignCount: 0,
      documents: 0,
      differences: [],
      differenceCount: 0,
      complete: false,
    };
    const elsewhere = new Map<string, ElsewhereFile>();
    const matches = localMatcher(files);
    for await (const range of storedRanges(settings.db, settings.source, settings.mode)) {
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
      const coverage = local.coverage;
      coverage.documents++;
      const difference = settings.deep && local.log && range.end <= coverage.size
        ? await contentDifference(local.log, local.coverage.name, range, settings.deep)
        : null;
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
    for (const file of files) await sweep(file, records);
    report.complete = report.foreignCount === 0 && report.differenceCount === 0 &&
      report.files.every((f) => !f.missing.length && !f.doubled.length && !f.beyond.length);
    return report;
  }
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

/** The log and its rotated files that hold text, newest first, a file and its compressed twin once. */
async function localFiles(settings: VerifySettings): Promise<VerifiedFile[]> {
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
    const coverage = newCoverage(name, identity, size);
    files.push({ coverage, log, identity, mtime, pendingFrom: Infinity, runs: [] });
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
async function notePending(settings: VerifySettings, files: VerifiedFile[]): Promise<void> {
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
function newCoverage(name: string, identity: FileIdentity, size: number): FileCoverage {
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

/** Sorts a file's runs and says which ranges are stored once, missing, doubled or beyond it. */
async function sweep(file: VerifiedFile, blankLinesOnly: boolean): Promise<void> {
  const { log, pendingFrom } = file;
  const coverage = file.coverage;
  const size = coverage.size;
  let covered = 0;
  const gap = async (start: number, end: number) => {
    const pendingStart = Math.max(start, Math.min(end, pendingFrom));
    coverage.pending += end - pendingStart;
    // Records mode stores no document for a blank line: blank lines are not missing.
    if (pendingStart <= start) return;
    if (blankLinesOnly && log && await onlyBlankLines(log, start, pendingStart)) return;
    const firstLine = log ? await lineAt(log, start) : undefined;
    coverage.missing.push({
      start,
      end: pendingStart,
      ...(firstLine === undefined ? {} : { firstLine }),
    });
  };
  for (const run of file.runs.sort((a, b) => a.start - b.start)) {
    if (run.start > covered) await gap(covered, Math.min(run.start, size));
    if (run.start < covered) {
      coverage.doubled.push({ start: run.start, end: Math.min(run.end, covered) });
    }
    if (run.end > size) coverage.beyond.push({ start: Math.max(run.start, size), end: run.end });
    coverage.storedOnce += Math.max(0, Math.min(run.end, size) - Math.max(run.start, covered));
    covered = Math.max(covered, run.end);
  }
  if (covered < size) await gap(covered, size);
  file.runs = [];
}

/** How a feed document's CSV differs from its range of the log formatted again; `null`: it does not. */
async function contentDifference(
  log: LogFile,
  name: string,
  range: StoredRange,
  deep: NonNullable<VerifySettings["deep"]>,
): Promise<ContentDifference | null> {
  const at = { id: range.id, name, start: range.start, end: range.end };
  const storedAt = range.timestamp ? new Date(range.timestamp) : new Date();
  const data = await log.readAt(range.start, range.end - range.start);
  const out = new ByteWriter(data.length * 2 + 4096);
  const formatted = deep.format.csvRows(
    { data, start: range.start, readAt: storedAt, oversized: null },
    out,
  );
  const stored = await deep.attachment(range.id, "feed");
  if (!stored) return { ...at, what: "its CSV attachment is gone" };
  const expected = new TextDecoder().decode(out.bytes()).split("\n");
  const held = new TextDecoder().decode(stored).split("\n");
  for (let i = 0; i < Math.max(expected.length, held.length); i++) {
    if (expected[i] !== held[i]) {
      return {
        ...at,
        what: `CSV line ${i} is ${JSON.stringify(held[i] ?? "(none)")}, the log gives ${
          JSON.stringify(expected[i] ?? "(none)")
        }`,
      };
    }
  }
  if (range.rejected !== undefined && range.rejected !== formatted.rejected.length) {
    return {
      ...at,
      what:
        `it says ${range.rejected} lines were rejected, the log gives ${formatted.rejected.length}`,
    };
  }
  return null;
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

/**
 * What a tail-only host knows of its log, for `monitor verify` on the host that reaches CouchDB:
 * each file's identity, size and where it stops being captured yet. Kilobytes, whatever the log.
 */
export interface Manifest {
  /** The format's version. */
  version: 1;
  /** The source the documents name. */
  source: string;
  /** When it was written (ISO 8601). */
  written: string;
  /** The log's files, newest first. */
  files: {
    name: string;
    identity: FileIdentity;
    size: number;
    mtime: number;
    /** Where it stops being captured yet; `null`: all of it was. */
    pendingFrom: number | null;
  }[];
}

/** The manifest of the log (`capture verify --manifest FILE` on a tail-only host). */
export async function manifestOf(
  settings: Omit<VerifySettings, "db" | "mode" | "deep">,
): Promise<Manifest> {
  const files = await localFiles({ ...settings, mode: "feed", db: NO_DB });
  for (const file of files) file.log?.close();
  return {
    version: 1,
    source: settings.source,
    written: new Date().toISOString(),
    files: files.map((f) => ({
      name: f.coverage.name,
      identity: f.identity,
      size: f.coverage.size,
      mtime: f.mtime,
      pendingFrom: Number.isFinite(f.pendingFrom) ? f.pendingFrom : null,
    })),
  };
}

const NO_DB: DocumentReader = {
  allDocs: () => Promise.resolve([]),
  getDocument: () => Promise.resolve(null),
};

/** Verifies a manifest's files against what CouchDB holds (`monitor verify --manifest FILE`). */
export async function verifyManifest(
  manifest: Manifest,
  settings: Pick<VerifySettings, "db" | "mode">,
): Promise<VerifyReport> {
  if (manifest?.version !== 1 || !Array.isArray(manifest.files)) {
    throw new Error("not a manifest of capture verify --manifest (version 1)");
  }
  const files: VerifiedFile[] = manifest.files.map((f) => ({
    coverage: newCoverage(f.name, f.identity, f.size),
    log: null,
    identity: f.identity,
    mtime: f.mtime,
    pendingFrom: f.pendingFrom ?? Infinity,
    runs: [],
  }));
  return await verifyFiles(files, { ...settings, source: manifest.source });
}
