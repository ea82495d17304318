/**
 * The extract sender in-process, over real extract files in a real folder: what it refuses, what
 * it skips when CouchDB holds more, and how batches of different files wait for each other.
 */
import assert from "node:assert/strict";
import { createLogger } from "../../lib/base/log.ts";
import { type Batch, extractName } from "../../lib/sink/batch.ts";
import { listExtracts } from "../../lib/sink/extracts.ts";
import type { SinkResult } from "../../lib/sink/sink.ts";
import {
  ExtractSender,
  type ExtractSenderSettings,
  newMonitorStats,
} from "../../lib/run/extract_sender.ts";

const FILE_ID = "0123456789abcdef";

/** A drop directory holding `files`, removed when the test is done with it (`await using`). */
async function folderWith(
  files: Record<string, string>,
): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const path = await Deno.makeTempDir();
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${path}/${name}`, text);
  }
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

function senderOver(
  dir: string,
  store: (batch: Batch) => Promise<SinkResult>,
  over: Partial<ExtractSenderSettings> = {},
) {
  const stats = newMonitorStats();
  const said: string[] = [];
  const log = createLogger({ level: "info", write: (line) => said.push(line) });
  const sender = new ExtractSender(
    { dir, done: "keep", store, maxLineBytes: 1024, batchLines: 2, ...over },
    stats,
    log,
    new AbortController().signal,
  );
  return { sender, stats, said };
}

async function sendAll(sender: ExtractSender, dir: string): Promise<void> {
  for (const extract of await listExtracts(dir)) assert.equal(await sender.send(extract), true);
  assert.equal(await sender.settleAll(), true);
}

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("an extract whose size is not the range its name gives goes to rejected/ with the reason, unstored", async () => {
  const name = extractName("avl1", 0, 0, 100, FILE_ID);
  await using folder = await folderWith({ [name]: "a\n" });
  const dir = folder.path;
  const stored: Batch[] = [];
  const { sender, stats, said } = senderOver(dir, (b) => {
    stored.push(b);
    return Promise.resolve({ generation: 0, end: b.end });
  });
  await sendAll(sender, dir);
  assert.equal(stored.length, 0);
  assert.equal(stats.extractsRejected, 1);
  assert.deepEqual(names(`${dir}/rejected`), [name, `${name}.reason`]);
  assert.match(await Deno.readTextFile(`${dir}/rejected/${name}.reason`), /not the range/);
  assert.match(said.join("\n"), /moved to .*rejected/);
});

Deno.test("an extract cut into batches is moved to done/ once its last batch is stored", async () => {
  const name = extractName("avl1", 0, 0, 8, FILE_ID);
  await using folder = await folderWith({ [name]: "a\nb\nc\nd\n" });
  const dir = folder.path;
  const stored: [number, number][] = [];
  const { sender, stats } = senderOver(dir, (b) => {
    stored.push([b.start, b.end]);
    return Promise.resolve({ generation: 0, end: b.end, rows: 2 });
  });
  await sendAll(sender, dir);
  assert.deepEqual(stored, [[0, 4], [4, 8]]); // two lines a batch
  assert.deepEqual([stats.extractsDone, stats.rowsPushed], [1, 4]);
  assert.deepEqual(names(`${dir}/done`), [name]);
});

Deno.test("when CouchDB already holds an extract to its end, the rest of it is not sent, and the skip is said", async () => {
  const name = extractName("avl1", 0, 0, 8, FILE_ID);
  await using folder = await folderWith({ [name]: "a\nb\nc\nd\n" });
  const dir = folder.path;
  const stored: [number, number][] = [];
  const { sender, stats, said } = senderOver(dir, (b) => {
    stored.push([b.start, b.end]);
    // An earlier run stored the whole extract: the answer says so.
    return Promise.resolve({ generation: 0, end: 8, skippedBytes: 8 - b.start });
  });
  await sendAll(sender, dir);
  assert.deepEqual(stored, [[0, 4]]);
  assert.equal(stats.extractsDone, 1);
  assert.match(said.join("\n"), /skipped 8 bytes that CouchDB already held/);
});

Deno.test("with two batches in flight, a batch of another generation waits for those of the one before", async () => {
  const first = extractName("avl1", 0, 0, 6, FILE_ID);
  const second = extractName("avl1", 1, 0, 4, "fedcba9876543210");
  await using folder = await folderWith({ [first]: "a\nb\nc\n", [second]: "d\ne\n" });
  const dir = folder.path;
  const inFlight = new Map<string, number>(); // batch → its generation
  const overlaps: number[][] = [];
  const { sender } = senderOver(dir, async (b) => {
    const key = `${b.generation}:${b.start}`;
    inFlight.set(key, b.generation);
    const generations = new Set(inFlight.values());
    if (generations.size > 1) overlaps.push([...generations]);
    // Kept in flight a while, so that a batch sent too early would be seen beside it; in order,
    // none ever is, however long this takes.
    await new Promise((r) => setTimeout(r, 10));
    inFlight.delete(key);
    return { generation: b.generation, end: b.end };
  }, { inFlight: 2, batchLines: 1 });
  await sendAll(sender, dir);
  assert.deepEqual(overlaps, []);
  assert.deepEqual(names(`${dir}/done`), [first, second].sort());
});

Deno.test("an extract longer than the read buffer: its next chunk is read and sent while the one before is stored, into another buffer, two at most", async () => {
  // 3 MB of lines: three chunks of the 1 MiB read buffer.
  const line = "x".repeat(99) + "\n";
  const text = line.repeat(30_000);
  const name = extractName("avl1", 0, 0, text.length, FILE_ID);
  await using folder = await folderWith({ [name]: text });
  const dir = folder.path;
  const buffers = new Set<ArrayBufferLike>();
  let inFlight = 0, most = 0;
  let nextCame: () => void = () => {};
  const { sender } = senderOver(dir, async (b) => {
    buffers.add(b.data.buffer);
    inFlight++;
    most = Math.max(most, inFlight);
    const released = nextCame;
    nextCame = () => {};
    released(); // the batch before may now be stored: this one came while it was in flight
    // Held in flight until the next batch comes (the last one, or a sender that waits for each,
    // is let go at once by the deadline below, and the count shows it).
    if (b.end < text.length) {
      await new Promise<void>((resolve) => {
        const deadline = setTimeout(resolve, 2000);
        nextCame = () => (clearTimeout(deadline), resolve());
      });
    }
    // Read when stored, after the next chunk was read: the bytes must still be this batch's.
    assert.equal(new TextDecoder().decode(b.data), text.slice(b.start, b.end));
    inFlight--;
    return { generation: 0, end: b.end };
  }, { inFlight: 2, batchLines: Infinity, maxLineBytes: 1 << 20 });
  await sendAll(sender, dir);
  assert.equal(most, 2, "a chunk is sent while the one before is stored");
  assert.equal(buffers.size, 2, "two buffers, reused");
  assert.deepEqual(names(`${dir}/done`), [name]);
});
