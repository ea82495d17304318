/**
 * A batch: a range of whole lines of one file, with the deterministic identity of SPEC §3 (source,
 * generation, start offset) and its end. Document ids and extract names are derived from it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { extractName, feedDocId, parseExtractName } from "./batch.ts";
 * assert.equal(feedDocId("avl1", 0, 41744), "feed:avl1:0:0000000000041744");
 * const name = extractName("avl1", 2, 0, 41744, "0123456789abcdef");
 * assert.equal(name, "avl1.2.0000000000000000-0000000000041744.0123456789abcdef.log");
 * assert.deepEqual(parseExtractName(name), {
 *   source: "avl1",
 *   generation: 2,
 *   start: 0,
 *   end: 41744,
 *   fileId: "0123456789abcdef",
 * });
 * ```
 * @module
 */
import type { FileRef } from "../source/identity.ts";
import type { OversizedLine } from "../source/lines.ts";

/** Where a batch comes from. */
export interface SourceInfo {
  /** The short stable name used in ids. */
  id: string;
  /** The host of the program that stores the batch (capture's, or the monitor's). */
  host: string;
  /** The log's path, where the program that stores the batch reads the log (capture). */
  path?: string;
  /** The extract the batch came from, by name (the monitor: the log's path is not known there). */
  extract?: string;
  /** The file the lines come from: its identity (capture), or its file id (the monitor). */
  file: FileRef;
}

/** A range `[start, end)` of whole lines of one generation of a source. */
export interface Batch {
  /** Where its lines come from. */
  source: SourceInfo;
  /** The generation of the file they are from. */
  generation: number;
  /** The file offset of its first byte. */
  start: number;
  /** The file offset just past its last byte. */
  end: number;
  /** The bytes of `[start, end)`, exactly; empty when the batch is one oversized line. */
  data: Uint8Array;
  /** Set when the batch is one line longer than the limit, of which only the head is kept. */
  oversized: OversizedLine | null;
  /** When the data was read: the reference date for year inference. */
  readAt: Date;
}

/** A source name that is safe in document ids and extract names. */
export const SOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** An offset as the 16 digits of ids and extract names. */
export function pad16(offset: number): string {
  return String(offset).padStart(16, "0");
}

/** The kinds of document ids (SPEC §3): feed documents, records, and generations. */
export type DocKind = "feed" | "rec" | "gen";

/**
 * What the ids of one kind begin with: of a source (`feed:avl1:`), or of one of its generations
 * (`feed:avl1:3:`). Every id and every id range read from CouchDB is built from this.
 */
export function idPrefix(kind: DocKind, source: string, generation?: number): string {
  return generation === undefined ? `${kind}:${source}:` : `${kind}:${source}:${generation}:`;
}

/** The id of the feed document of the batch that starts at `start`. */
export function feedDocId(source: string, generation: number, start: number): string {
  return idPrefix("feed", source, generation) + pad16(start);
}

/** What every records-mode id of a generation of a source begins with, before the 16 digits. */
export function recordIdPrefix(source: string, generation: number): string {
  return idPrefix("rec", source, generation);
}

/** The id of the records-mode document of the line at `offset`. */
export function recordDocId(source: string, generation: number, offset: number): string {
  return recordIdPrefix(source, generation) + pad16(offset);
}

/** The id of the document that says which file a generation of a source is (records mode). */
export function generationDocId(source: string, generation: number): string {
  return idPrefix("gen", source) + generation;
}

/**
 * The name of the extract file that holds `[start, end)` of the file with id `fileId` (SPEC §4);
 * without a file id, the earlier form. A `long` one is the note that stands for one line longer
 * than the limit: it holds the line's first bytes, not the line, which is stored as rejected.
 */
export function extractName(
  source: string,
  generation: number,
  start: number,
  end: number,
  fileId?: string,
  kind: ExtractKind = "log",
): string {
  return `${source}.${generation}.${pad16(start)}-${pad16(end)}${
    fileId ? `.${fileId}` : ""
  }.${kind}`;
}

/**
 * What an extract holds (SPEC §4): whole lines (`log`); the note of one line longer than the limit
 * (`long`: its first bytes); or the unterminated last line of a file that will not grow again
 * (`last`: the line exactly, without a newline).
 */
export type ExtractKind = "log" | "long" | "last";

/** The extract kind a batch travels as. */
export function extractKindOf(batch: Batch): ExtractKind {
  if (batch.oversized) return "long";
  const data = batch.data;
  return data.length > 0 && data[data.length - 1] !== 10 ? "last" : "log";
}

/** Most bytes of an over-long line that its note (a `.long` extract) carries. */
export const LONG_LINE_NOTE_BYTES = 4096;

/** What an extract's name says of it. */
export interface ExtractRange {
  /** The source the extract's lines come from. */
  source: string;
  /** The generation of the file they are from. */
  generation: number;
  /** The file offset of its first byte. */
  start: number;
  /** The file offset just past its last byte. */
  end: number;
  /** Which file the slice came from; absent in names of the earlier form. */
  fileId?: string;
  /** A note for one over-long line (`.long`): its first bytes only. */
  long?: boolean;
  /** The unterminated last line of a finished file (`.last`), exactly. */
  last?: boolean;
}

const EXTRACT_NAME =
  /^([A-Za-z0-9][A-Za-z0-9_.-]{0,63})\.(\d{1,9})\.(\d{16})-(\d{16})(?:\.([0-9a-f]{16}))?\.(log|long|last)$/;

/** Reads an extract's name; `null` when it is not one (including any path or dot-file). */
export function parseExtractName(name: string): ExtractRange | null {
  const m = EXTRACT_NAME.exec(name);
  if (!m) return null;
  const start = Number(m[3]), end = Number(m[4]);
  if (end <= start || !Number.isSafeInteger(end)) return null;
  return {
    source: m[1],
    generation: Number(m[2]),
    start,
    end,
    ...(m[5] ? { fileId: m[5] } : {}),
    ...(m[6] === "long" ? { long: true } : {}),
    ...(m[6] === "last" ? { last: true } : {}),
  };
}

/** The part of a batch from `offset` (a line start inside it) to its end. */
export function batchFrom(batch: Batch, offset: number): Batch {
  if (offset <= batch.start) return batch;
  return { ...batch, start: offset, data: batch.data.subarray(offset - batch.start) };
}
