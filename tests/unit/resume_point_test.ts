/**
 * The resume point (`lib/sink/resume_point.ts`), against the in-memory store: where a capture
 * whose cache file is gone goes on, looking back over as many batches as a store has in flight.
 */
import assert from "node:assert/strict";
import type { FileIdentity } from "../../lib/source/identity.ts";
import { findStoredPosition, LOOK_BACK } from "../../lib/sink/resume_point.ts";
import { MemoryStore } from "./memory_store.ts";

const FILE: FileIdentity = { dev: 1, ino: 10, head: "aaaa", headLength: 4, id: "000000000000000a" };

async function feeds(db: MemoryStore, ranges: [number, number][], generation = 0): Promise<void> {
  for (const [start, end] of ranges) {
    const id = `feed:src:${generation}:${String(start).padStart(16, "0")}`;
    await db.putDocument({ _id: id, source: { start, end, file: FILE } });
  }
}

Deno.test("feed mode: the end of the last document, or the start of a gap among the last LOOK_BACK", async () => {
  assert.equal(LOOK_BACK, 2, "the window of a CouchDB sink");
  const contiguous = new MemoryStore();
  await feeds(contiguous, [[0, 10], [10, 20], [20, 30]]);
  assert.deepEqual(await findStoredPosition(contiguous, "src", FILE), {
    generation: 0,
    offset: 30,
  });
  const gap = new MemoryStore();
  await feeds(gap, [[0, 10], [20, 30]]);
  assert.deepEqual(await findStoredPosition(gap, "src", FILE), { generation: 0, offset: 10 });
  // One batch in flight at a time: no gap can hide beyond the last document.
  assert.deepEqual(await findStoredPosition(gap, "src", FILE, 1), { generation: 0, offset: 30 });
});

Deno.test("records mode: the start of the batch LOOK_BACK back, and nothing for a file not held", async () => {
  const db = new MemoryStore();
  await db.putDocument({ _id: "gen:src:4", source: { file: FILE } });
  for (const [offset, batchStart] of [[0, 0], [5, 0], [10, 10], [15, 10], [20, 20]]) {
    await db.putDocument({
      _id: `rec:src:4:${String(offset).padStart(16, "0")}`,
      batch_start: batchStart,
    });
  }
  assert.deepEqual(await findStoredPosition(db, "src", FILE), { generation: 4, offset: 10 });
  assert.equal(
    await findStoredPosition(db, "src", { ...FILE, ino: 11, id: "000000000000000b" }),
    null,
  );
});
