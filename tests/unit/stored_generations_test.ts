/**
 * Which file each generation is (`lib/sink/stored_generations.ts`), against the in-memory store:
 * the numbers held, with gaps; the file a number holds; the number a file goes under; and what
 * one process learns (`FileGenerations`), which a new process does not share.
 */
import assert from "node:assert/strict";
import type { Batch } from "../../lib/sink/batch.ts";
import type { FileIdentity } from "../../lib/source/identity.ts";
import {
  FileGenerations,
  generationFile,
  generationFor,
  storedGenerations,
} from "../../lib/sink/stored_generations.ts";
import { MemoryStore } from "./memory_store.ts";

const FILE_A: FileIdentity = {
  dev: 1,
  ino: 10,
  head: "aaaa",
  headLength: 4,
  id: "000000000000000a",
};
const FILE_B: FileIdentity = {
  dev: 1,
  ino: 11,
  head: "bbbb",
  headLength: 4,
  id: "000000000000000b",
};

function feed(
  db: MemoryStore,
  generation: number,
  file: FileIdentity,
  start = 0,
): Promise<unknown> {
  const id = `feed:src:${generation}:${String(start).padStart(16, "0")}`;
  return db.putDocument({ _id: id, source: { start, end: start + 10, file } });
}

function batchOf(file: FileIdentity, generation: number): Batch {
  return {
    source: { id: "src", host: "h", file },
    generation,
    start: 0,
    end: 2,
    data: new TextEncoder().encode("a\n"),
    oversized: null,
    readAt: new Date(),
  };
}

Deno.test("the generations held are listed with their gaps, and each says its file", async () => {
  const db = new MemoryStore();
  await feed(db, 0, FILE_A);
  await feed(db, 0, FILE_A, 10);
  await feed(db, 7, FILE_B);
  await db.putDocument({ _id: "gen:src:3", source: { file: FILE_A } });
  await feed(db, 2, FILE_B).then(() => db.putDocument({ _id: "feed:other:5:0000000000000000" }));
  assert.deepEqual(await storedGenerations(db, "src"), [0, 2, 3, 7]);
  assert.deepEqual(await generationFile(db, "src", 7), FILE_B);
  assert.deepEqual(await generationFile(db, "src", 3), FILE_A);
  assert.equal(await generationFile(db, "src", 4), null);
});

Deno.test("a file goes under the generation that holds it, else past every number held", async () => {
  const db = new MemoryStore();
  await feed(db, 0, FILE_A);
  await feed(db, 5, FILE_B);
  assert.equal(await generationFor(db, "src", FILE_B, 1), 5, "it holds this file already");
  const FILE_C = { ...FILE_B, ino: 12, id: "000000000000000c" };
  assert.equal(await generationFor(db, "src", FILE_C, 1), 6, "never into a gap below");
});

Deno.test("FileGenerations: a move is remembered for the batches cut before it, and a new process learns it again", async () => {
  const db = new MemoryStore();
  await feed(db, 0, FILE_A);
  const generations = new FileGenerations(db);
  const batch = batchOf(FILE_B, 0);
  assert.equal(await generations.moveToFileGeneration(batch, batch), 1);
  assert.equal(generations.known(batch).generation, 1, "a batch cut as 0 goes under 1");
  assert.equal(new FileGenerations(db).known(batch).generation, 0, "another process knows nothing");
  // An extract's batch is placed by its file id, whatever its name's number.
  await feed(db, 1, FILE_B);
  assert.equal((await new FileGenerations(db).byFileId(batchOf(FILE_B, 0))).generation, 1);
});

Deno.test("FileGenerations.claim: records mode writes the gen: document once, and moves past another file's", async () => {
  const db = new MemoryStore();
  const generations = new FileGenerations(db);
  assert.equal(await generations.claim(batchOf(FILE_A, 0), 0), 0);
  assert.deepEqual(
    (await db.getDocument<{ source: { file: FileIdentity } }>("gen:src:0"))?.source.file,
    FILE_A,
  );
  const other = new FileGenerations(db);
  assert.equal(await other.claim(batchOf(FILE_B, 0), 0), 1, "0 is FILE_A's");
  await db.putDocument({ _id: "gen:src:2", note: "not ours" });
  await assert.rejects(
    new FileGenerations(db).claim(batchOf({ ...FILE_B, ino: 13, id: "000000000000000d" }, 2), 2),
    /gen:src:2 in .* is not a generation of logcapture/,
  );
});
