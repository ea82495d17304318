/**
 * The store's paths in-process, against an in-memory stand-in of the client (`memory_store.ts`):
 * conflicts after a crash or a lost answer, batches cut elsewhere by an earlier run, a generation
 * number reused by another file, and where a lost cache file is recovered from. The same paths go
 * through a real CouchDB in tests/capture_test.ts and tests/faults_test.ts.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Batch } from "../../lib/sink/batch.ts";
import { isPermanent } from "../../lib/base/errors.ts";
import { lineRuns } from "../../lib/source/lines.ts";
import type { FileIdentity } from "../../lib/source/identity.ts";
import { BatchStore, type StoreOptions, type StoreResult } from "../../lib/sink/store.ts";
import { findStoredPosition } from "../../lib/sink/resume_point.ts";
import type { DocumentStore } from "../../lib/sink/couchdb.ts";
import { spysocketFormat } from "../../lib/format/line_format.ts";
import { simulatedLines } from "../helpers.ts";
import { MemoryStore } from "./memory_store.ts";
import { CouchUnavailable } from "../../lib/sink/couch_http.ts";
import { MultipartChoice } from "../../lib/sink/multipart_choice.ts";
import { gzipAt } from "../../lib/sink/gzip.ts";

const LOG = new TextEncoder().encode(simulatedLines(41)(60));
const FILE_A: FileIdentity = { dev: 1, ino: 10, head: "aaaaaaaaaaaaaaaa", headLength: 1024 };
const FILE_B: FileIdentity = { dev: 1, ino: 11, head: "bbbbbbbbbbbbbbbb", headLength: 1024 };
const FORMAT = spysocketFormat({ columns: "classic", year: 2012 });
const FEED: StoreOptions = { mode: "feed", format: FORMAT };
const RECORDS: StoreOptions = { mode: "records", format: FORMAT };

// One store per client: a client (a MemoryStoreView) stands for a process, and what a process
// learnt of the database goes with it.
const stores = new WeakMap<DocumentStore, Map<string, BatchStore>>();
function storeBatch(
  db: DocumentStore,
  batch: Batch,
  options: StoreOptions,
  turn?: Promise<unknown>,
): Promise<StoreResult> {
  const ofDb = stores.get(db) ?? new Map<string, BatchStore>();
  stores.set(db, ofDb);
  const key = options.mode;
  if (!ofDb.has(key)) ofDb.set(key, new BatchStore(db, options));
  return ofDb.get(key)!.store(batch, turn);
}

/** The batches of `LOG` cut every `lines` lines, as capture makes them. */
function batches(lines: number, file = FILE_A, generation = 0): Batch[] {
  return [...lineRuns(LOG, lines)].map(([start, end]) => ({
    source: { id: "src", host: "h", path: "/var/log/x.log", file },
    generation,
    start,
    end,
    data: LOG.subarray(start, end),
    oversized: null,
    readAt: new Date(),
  }));
}

/** The ranges the feed documents of `generation` cover, in order. */
function feedRanges(db: MemoryStore, generation = 0): [number, number][] {
  return [...db.docs.values()]
    .filter((d) => String(d._id).startsWith(`feed:src:${generation}:`))
    .map((d) => {
      const source = d.source as { start: number; end: number };
      return [source.start, source.end] as [number, number];
    })
    .sort((a, b) => a[0] - b[0]);
}

/** Whether `ranges` tile `[0, LOG.length)`: every byte once. */
function tiles(ranges: [number, number][]): boolean {
  let at = 0;
  for (const [start, end] of ranges) {
    if (start !== at) return false;
    at = end;
  }
  return at === LOG.length;
}

Deno.test("feed: each batch once; a batch sent again by a new process is found stored and skipped", async () => {
  const db = new MemoryStore();
  for (const batch of batches(7)) assert.equal((await storeBatch(db, batch, FEED)).end, batch.end);
  const count = db.docs.size;
  const resent = batches(7)[2];
  const again = await storeBatch(new MemoryStoreView(db), resent, FEED);
  assert.deepEqual([again.end, again.skippedBytes], [resent.end, resent.end - resent.start]);
  assert.equal(db.docs.size, count);
  assert.ok(tiles(feedRanges(db)));
});

Deno.test("feed: a lost acknowledgement is retried, meets a conflict, and is resolved by reading what is stored", async () => {
  const db = new MemoryStore();
  const [first, second, third] = batches(10);
  await storeBatch(db, first, FEED);
  db.fail = 1;
  db.afterStore = true; // stored, then the answer is lost
  await assert.rejects(storeBatch(db, second, FEED), /connection reset/);
  const retried = await storeBatch(db, second, FEED);
  assert.deepEqual([retried.end, retried.conflicts], [second.end, 1]);
  assert.equal((await storeBatch(db, third, FEED)).end, third.end);
  assert.deepEqual(feedRanges(db), [
    [first.start, first.end],
    [second.start, second.end],
    [third.start, third.end],
  ]);
});

Deno.test("feed: batches cut elsewhere by an earlier run are trimmed to what is not stored", async () => {
  const db = new MemoryStore();
  for (const batch of batches(3).slice(0, 7)) await storeBatch(db, batch, FEED);
  // A new run (a new client, as after a crash) cuts every 5 lines, from the start again.
  const rerun = new MemoryStoreView(db);
  let skipped = 0;
  for (const batch of batches(5)) skipped += (await storeBatch(rerun, batch, FEED)).skippedBytes;
  assert.ok(tiles(feedRanges(db)), JSON.stringify(feedRanges(db)));
  assert.equal(skipped, batches(3)[6].end);
});

Deno.test("a generation number reused by another file moves to one the database does not hold", async () => {
  const db = new MemoryStore();
  await storeBatch(db, batches(60, FILE_A)[0], FEED);
  const other = await storeBatch(new MemoryStoreView(db), batches(60, FILE_B)[0], FEED);
  assert.equal(other.generation, 1);
  assert.equal(feedRanges(db, 0).length, 1);
  assert.equal(feedRanges(db, 1).length, 1);
});

Deno.test("records: one document a line; sent again after a crash, conflicts and no doubles", async () => {
  const db = new MemoryStore();
  const [first] = batches(20);
  const stored = await storeBatch(db, first, RECORDS);
  assert.equal(stored.rows, 20);
  const again = await storeBatch(new MemoryStoreView(db), first, RECORDS);
  assert.equal(again.end, first.end);
  assert.equal([...db.docs.keys()].filter((id) => id.startsWith("rec:")).length, 20);
});

Deno.test("a lost cache file: capture resumes at the first gap among the batches that were in flight", async () => {
  const db = new MemoryStore();
  const all = batches(10);
  for (const i of [0, 1, 3]) await storeBatch(new MemoryStoreView(db), all[i], FEED); // 2 was lost
  assert.deepEqual(await findStoredPosition(db, "src", FILE_A), {
    generation: 0,
    offset: all[1].end,
  });
  assert.equal(await findStoredPosition(db, "src", FILE_B), null, "another file: nothing held");
});

for (const options of [FEED, RECORDS]) {
  Deno.test(`${options.mode}: generations with gaps (an empty rotation, a file gone unstored) are all looked at when the cache file is lost`, async () => {
    const db = new MemoryStore();
    const [a] = batches(10, FILE_A, 0);
    const [b] = batches(10, FILE_B, 5); // 1 to 4 hold nothing: empty rotations
    await storeBatch(db, a, options);
    await storeBatch(db, b, options);
    assert.deepEqual(await findStoredPosition(db, "src", FILE_B), {
      generation: 5,
      offset: options.mode === "feed" ? b.end : 0,
    });
    // A third file given a number that another file holds moves past every number in use, never
    // into a gap below them (ids keep sorting in log order).
    const FILE_C = { ...FILE_B, ino: 12, head: "cccccccccccccccc" };
    const [c] = batches(10, FILE_C, 0);
    assert.equal((await storeBatch(db, c, options)).generation, 6);
  });
}

Deno.test("a document under our id that is not ours is a permanent error that names it", async () => {
  const db = new MemoryStore();
  const [first] = batches(10);
  await db.putDocument({ _id: "feed:src:0:0000000000000000", note: "someone else's" });
  const error = await storeBatch(db, first, FEED).then(() => null, (e) => e);
  assert.ok(isPermanent(error), String(error));
  assert.match(
    error.message,
    /feed:src:0:0000000000000000 .* is not a feed document of logcapture/,
  );
});

Deno.test("property: whatever the cuts, crashes and lost answers, the feed documents cover the log once", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          lines: fc.integer({ min: 1, max: 25 }),
          crashAfter: fc.integer({ min: 0, max: 6 }),
          lostAnswer: fc.boolean(),
          resumeBack: fc.nat(3),
          // Two batches in flight, as capture sends them: the second with the first as its turn.
          twoInFlight: fc.boolean(),
        }),
        { minLength: 1, maxLength: 6 },
      ),
      async (runs) => {
        const db = new MemoryStore();
        let acknowledged = 0; // where the cache file says the next run starts
        for (const run of runs) {
          const client = new MemoryStoreView(db); // each run is a new process
          // A cache file may lag (written before a crash), never lead: start a few batches back.
          const cut = batches(run.lines);
          const index = Math.max(0, cut.findIndex((b) => b.end > acknowledged) - run.resumeBack);
          let position = index === 0 ? 0 : cut[index - 1].end;
          let sent = 0;
          while (position < LOG.length && sent++ < run.crashAfter) {
            const batch = cut.find((b) => b.start <= position && b.end > position)!;
            const from = { ...batch, start: position, data: LOG.subarray(position, batch.end) };
            const next = cut.find((b) => b.start === batch.end);
            if (run.twoInFlight && next) {
              // The first answer is lost when asked (stored, then thrown): it is sent again, as
              // capture's retry does, while the second may already be stored.
              if (run.lostAnswer && sent === 1) [db.fail, db.afterStore] = [1, true];
              const first = storeBatch(client, from, FEED);
              const second = storeBatch(client, next, FEED, first.catch(() => {}));
              const settled = (result: Promise<StoreResult>, batch: Batch) =>
                result.catch(() => (db.fail = 0, storeBatch(client, batch, FEED)));
              const stored = await settled(first, from);
              const secondStored = await settled(second, next);
              db.fail = 0; // the fault may have found nothing to write
              if (sent++ >= run.crashAfter) break; // a crash before the second is acknowledged
              position = Math.max(stored.end, secondStored.end);
              acknowledged = Math.max(acknowledged, position);
              continue;
            }
            if (run.lostAnswer && sent === 1) {
              db.fail = 1;
              db.afterStore = true;
              await storeBatch(client, from, FEED).catch(() => {});
              db.fail = 0; // the fault may have found nothing to write
            }
            position = (await storeBatch(client, from, FEED)).end;
            acknowledged = Math.max(acknowledged, position);
          }
        }
        // A last run to the end, as capture would after the crashes.
        const last = new MemoryStoreView(db);
        let position = acknowledged;
        for (const batch of batches(8)) {
          if (batch.end <= position) continue;
          const from = { ...batch, start: position, data: LOG.subarray(position, batch.end) };
          position = (await storeBatch(last, from, FEED)).end;
        }
        assert.ok(tiles(feedRanges(db)), JSON.stringify(feedRanges(db)));
      },
    ),
    { numRuns: 400 },
  );
});

/**
 * Another process's view of the same database: the same documents, none of the store's memory of
 * them (that memory is per client), as after a restart.
 */
class MemoryStoreView extends MemoryStore {
  constructor(shared: MemoryStore) {
    super();
    // deno-lint-ignore no-explicit-any
    (this as any).docs = shared.docs;
    Object.defineProperty(this, "fail", {
      get: () => shared.fail,
      set: (v) => (shared.fail = v),
    });
    Object.defineProperty(this, "afterStore", {
      get: () => shared.afterStore,
      set: (v) => (shared.afterStore = v),
    });
  }
}

/** A cluster whose multipart PUTs go unanswered within their bound, stored after all or not. */
class HeldMultipart extends MemoryStore {
  multipart = 0;
  constructor(readonly landed: boolean) {
    super();
  }
  override async putDocumentMultipart(
    id: string,
    json: Uint8Array,
    attachments: Uint8Array[],
    boundMs?: number,
  ): Promise<"created" | "conflict"> {
    this.multipart++;
    if (boundMs === undefined) return await super.putDocumentMultipart(id, json, attachments);
    if (this.landed) await super.putDocumentMultipart(id, json, attachments);
    throw new CouchUnavailable(`no answer in ${boundMs} ms (injected)`, 0);
  }
}

Deno.test("a cluster: a multipart PUT unanswered in its bound goes again as JSON, once, whether or not it landed; multipart rests after", async () => {
  for (const landed of [true, false]) {
    const db = new HeldMultipart(landed);
    const choice = new MultipartChoice({ allNodesUp: () => Promise.resolve(true) });
    const store = new BatchStore(db, {
      ...FEED,
      feedAttachments: { gzip: await gzipAt(1), choice },
    });
    const all = batches(10);
    for (const batch of all) assert.equal((await store.store(batch)).end, batch.end);
    assert.ok(tiles(feedRanges(db)), `landed ${landed}: every byte once`);
    assert.equal(db.multipart, 1, "after the first went unanswered, JSON for a while");
    // One that landed is found by reading what CouchDB holds before the JSON PUT: no conflict.
    assert.equal(db.docs.size, all.length);
  }
});
