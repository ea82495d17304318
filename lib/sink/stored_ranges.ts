/**
 * What CouchDB holds of a source, as byte ranges: each feed document's `[start, end)`, or each
 * records document's line, with the file it is of. Read in pages of `_all_docs`, in id order,
 * which is log order within a generation, so a caller can sweep them with bounded memory
 * whatever the size of the database.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { storedRanges } from "./stored_ranges.ts";
 * const docs = new Map<string, unknown>([
 *   ["feed:a:0:0000000000000000", { source: { start: 0, end: 10, file: { id: "f" } } }],
 *   ["feed:a:0:0000000000000010", { source: { start: 10, end: 20, file: { id: "f" } } }],
 *   ["feed:a:1:0000000000000000", { note: "not ours" }],
 * ]);
 * const db = {
 *   allDocs: ({ startkey = "", endkey = "\ufff0", limit = Infinity }) =>
 *     Promise.resolve([...docs.keys()].filter((id) => id >= startkey && id <= endkey).sort()
 *       .slice(0, limit).map((id) => ({ id, doc: docs.get(id) as never }))),
 *   getDocument: () => Promise.resolve(null),
 * };
 * const ranges = [];
 * for await (const range of storedRanges(db, "a", "feed", 2)) ranges.push(range);
 * assert.deepEqual(ranges.map((r) => [r.generation, r.start, r.end]), [[0, 0, 10], [0, 10, 20], [1, NaN, NaN]]);
 * assert.equal(ranges[2].foreign, true);
 * ```
 * @module
 */
import { generationDocId, idPrefix } from "./batch.ts";
import type { StoreMode } from "./store.ts";
import type { DocumentReader } from "./stored_generations.ts";
import type { FileRef } from "../source/identity.ts";

/** One stored range, in the order of its id. */
export interface StoredRange {
  /** The document's id. */
  id: string;
  /** The generation its id names. */
  generation: number;
  /** Its first byte's offset in its file (NaN for a foreign document). */
  start: number;
  /** The offset just past its last byte (NaN for a foreign document). */
  end: number;
  /** The file it is of, as its documents say; `null` when they do not say. */
  file: FileRef | null;
  /** A document under logcapture's ids that is not one of logcapture's. */
  foreign: boolean;
  /** When it was stored (feed mode): the year of its reports, unless fixed, is inferred from it. */
  timestamp?: string;
  /** Lines it stored as rejected (feed mode). */
  rejected?: number;
  /** The document itself (records mode: what its line gave). */
  doc?: Record<string, unknown>;
}

interface StoredDoc {
  timestamp?: string;
  rejected?: number;
  source?: { start?: number; end?: number; file?: FileRef };
  line_offset?: number;
  line_end?: number;
}

/**
 * The ranges stored of `source` in `mode`, generation by generation and in offset order, read
 * `pageSize` documents at a time; only those of `generations`, when given.
 */
export async function* storedRanges(
  db: DocumentReader,
  source: string,
  mode: StoreMode,
  pageSize = 1000,
  generations?: number[],
): AsyncGenerator<StoredRange> {
  const kind = mode === "feed" ? "feed" : "rec";
  const prefixes = generations?.map((g) => idPrefix(kind, source, g)) ?? [idPrefix(kind, source)];
  const files = new Map<number, FileRef | null>();
  for (const prefix of prefixes) yield* rangesUnder(db, source, mode, prefix, pageSize, files);
}

async function* rangesUnder(
  db: DocumentReader,
  source: string,
  mode: StoreMode,
  prefix: string,
  pageSize: number,
  files: Map<number, FileRef | null>,
): AsyncGenerator<StoredRange> {
  const sourcePrefix = idPrefix(mode === "feed" ? "feed" : "rec", source);
  for (let from = prefix;;) {
    const rows = await db.allDocs<StoredDoc>({
      startkey: from,
      endkey: prefix + "\ufff0",
      limit: pageSize,
      includeDocs: true,
    });
    for (const row of rows) {
      const generation = Number(/^(\d+):/.exec(row.id.slice(sourcePrefix.length))?.[1] ?? NaN);
      const doc = row.doc ?? {};
      const [start, end] = mode === "feed"
        ? [doc.source?.start, doc.source?.end]
        : [doc.line_offset, doc.line_end];
      const foreign = !Number.isSafeInteger(generation) || typeof start !== "number" ||
        typeof end !== "number" || end <= start;
      let file: FileRef | null = doc.source?.file ?? null;
      if (mode === "records" && !foreign) {
        if (!files.has(generation)) {
          const held = await db.getDocument<StoredDoc>(generationDocId(source, generation));
          files.set(generation, held?.source?.file ?? null);
        }
        file = files.get(generation)!;
      }
      yield foreign ? { id: row.id, generation, start: NaN, end: NaN, file, foreign } : {
        id: row.id,
        generation,
        start: start!,
        end: end!,
        file,
        foreign,
        ...(mode === "feed"
          ? { timestamp: doc.timestamp, rejected: doc.rejected }
          : { doc: doc as Record<string, unknown> }),
      };
    }
    if (rows.length < pageSize) return;
    from = rows[rows.length - 1].id + "\u0000";
  }
}
