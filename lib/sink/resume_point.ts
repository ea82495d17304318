/**
 * Where to go on storing a file whose cache file is gone, read from CouchDB: the resume point. A
 * store with a window of batches in flight may leave a gap among its last ones (a later batch
 * stored before an earlier one); the resume point looks back over that many batches (`lookBack`,
 * the window of the store that wrote them; {@linkcode LOOK_BACK}) and starts at the gap.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findStoredPosition } from "./resume_point.ts";
 * const docs = new Map([
 *   ["feed:a:0:0000000000000000", { source: { start: 0, end: 10, file: { id: "f" } } }],
 *   ["feed:a:0:0000000000000020", { source: { start: 20, end: 30, file: { id: "f" } } }],
 * ]);
 * const db = {
 *   allDocs: ({ startkey = "", endkey = "\ufff0", limit = Infinity, descending = false }) => {
 *     const [low, high] = descending ? [endkey, startkey] : [startkey, endkey];
 *     const ids = [...docs.keys()].filter((id) => id >= low && id <= high).sort();
 *     if (descending) ids.reverse();
 *     return Promise.resolve(ids.slice(0, limit).map((id) => ({ id, doc: docs.get(id) as never })));
 *   },
 *   getDocument: () => Promise.resolve(null),
 * };
 * // The batch 10-20 is missing: the file goes on from 10, and 20-30 meets its conflict.
 * assert.deepEqual(await findStoredPosition(db, "a", { id: "f" }), { generation: 0, offset: 10 });
 * ```
 * @module
 */
import { generationDocId, idPrefix, recordDocId, recordIdPrefix } from "./batch.ts";
import { type FileRef, sameFile } from "../source/identity.ts";
import { type DocumentReader, storedGenerations } from "./stored_generations.ts";

/**
 * How many batches back a resume point looks for a gap: the most a store has in flight at once
 * (`couch_sink.ts` takes its window from here, so that the two never part).
 */
export const LOOK_BACK = 2;

/** A feed document as stored, its range and file. */
interface StoredFeed {
  source?: { start?: number; end?: number; file?: FileRef };
}

/** A records-mode document as stored. */
interface StoredRecord {
  batch_start?: number;
}

/** The document that says which file a generation is (records mode). */
interface StoredGeneration {
  source?: { file?: FileRef };
}

/**
 * Where an earlier run left this file, read from CouchDB, for a capture whose cache file is gone:
 * the newest generation stored from the same file, and the offset from which to go on. In feed
 * mode that is the end of the last document. In records mode the last batches may be partly
 * stored (up to `lookBack` were in flight), so it is the start of the batch
 * that many batches back; lines stored already meet a conflict and are skipped. `null` when
 * CouchDB holds nothing of this file.
 */
export async function findStoredPosition(
  db: DocumentReader,
  source: string,
  file: FileRef,
  lookBack: number = LOOK_BACK,
): Promise<{ generation: number; offset: number } | null> {
  for (const generation of (await storedGenerations(db, source)).reverse()) {
    const feedEnd = await feedResumePoint(db, source, generation, file, lookBack);
    const stored = (await db.getDocument<StoredGeneration>(generationDocId(source, generation)))
      ?.source?.file;
    const recordsStart = stored && sameFile(stored, file)
      ? await recordsResumePoint(db, source, generation, lookBack)
      : undefined;
    const offset = Math.max(feedEnd ?? -1, recordsStart ?? -1);
    if (offset >= 0) return { generation, offset };
  }
  return null;
}

/**
 * Where feed documents of a generation of this file leave off: the end of the last one, unless a
 * gap lies among the last `lookBack` (a later batch stored before an earlier
 * one), then the start of the gap. `undefined` when the generation holds no feed document of it.
 */
async function feedResumePoint(
  db: DocumentReader,
  source: string,
  generation: number,
  file: FileRef,
  lookBack: number,
): Promise<number | undefined> {
  const prefix = idPrefix("feed", source, generation);
  const rows = await db.allDocs<StoredFeed & { source?: { start?: number } }>({
    startkey: prefix + "\ufff0",
    endkey: prefix,
    descending: true,
    limit: lookBack,
    includeDocs: true,
  });
  const docs = rows.map((r) => r.doc?.source).filter((s) =>
    s?.file && sameFile(s.file, file) && typeof s.end === "number" && typeof s.start === "number"
  ) as { start: number; end: number }[];
  if (docs.length === 0) return undefined;
  // Newest first: a document that does not start where the one before it ends follows a gap.
  for (let i = docs.length - 1; i > 0; i--) {
    if (docs[i - 1].start !== docs[i].end) return docs[i].end;
  }
  // Fewer documents than batches in flight: what came before the oldest may be missing too.
  return docs.length < lookBack && docs[docs.length - 1].start !== 0 ? 0 : docs[0].end;
}

/** The start of the records batch `lookBack` batches back from the last. */
async function recordsResumePoint(
  db: DocumentReader,
  source: string,
  generation: number,
  lookBack: number,
): Promise<number | undefined> {
  const prefix = recordIdPrefix(source, generation);
  let below = prefix + "\ufff0";
  let start: number | undefined;
  for (let back = 0; back < lookBack; back++) {
    const [row] = await db.allDocs<StoredRecord>({
      startkey: below,
      endkey: prefix,
      descending: true,
      limit: 1,
      includeDocs: true,
    });
    const batchStart = row?.doc?.batch_start;
    // Nothing stored below: what came before may be unstored too, so from the file's start.
    if (typeof batchStart !== "number") return start === undefined ? undefined : 0;
    start = batchStart;
    if (start === 0) break;
    below = recordDocId(source, generation, start - 1);
  }
  return start;
}
