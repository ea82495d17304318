import assert from "node:assert/strict";
import fc from "fast-check";
import { createLogger } from "../../lib/base/log.ts";
import type { Batch } from "../../lib/sink/batch.ts";
import type { SinkResult } from "../../lib/sink/sink.ts";
import type { FileIdentity } from "../../lib/source/identity.ts";
import type { TailRead } from "../../lib/source/tail.ts";
import { Batcher, type BatchLimits } from "../../lib/run/batcher.ts";

const SOURCE = { id: "avl1", host: "h", path: "/var/log/spysocket.log" };
const LOG = createLogger({ level: "error" });
const encoder = new TextEncoder();
const text = (data: Uint8Array) => new TextDecoder().decode(data);
const fileOf = (ino: number): FileIdentity => ({ dev: 1, ino, head: "", headLength: 0 });

/** What a batch held when it was acknowledged (its buffer is reused after). */
interface Acknowledged {
  generation: number;
  ino: number;
  start: number;
  end: number;
  text: string;
  oversized: boolean;
}

/** A batcher over a store that answers when `answer` is called, in any order. */
function batcherWith(limits: BatchLimits, inFlight = 1) {
  const acknowledged: Acknowledged[] = [];
  /** The buffers batches were gathered in. */
  const buffers = new Set<ArrayBufferLike>();
  const waiting: { batch: Batch; resolve: (r: SinkResult | null) => void }[] = [];
  let stopped = false;
  const batcher = new Batcher({
    source: SOURCE,
    limits,
    inFlight,
    store: (batch) =>
      stopped ? Promise.resolve(null) : new Promise((resolve) => {
        // Read when stored, as the real sinks do: the bytes must still be the batch's.
        const copy = { ...batch, data: batch.data.slice() };
        if (batch.oversized === null) buffers.add(batch.data.buffer);
        waiting.push({ batch: copy, resolve });
        if (waiting.length > inFlight) throw new Error("more batches in flight than allowed");
        queueMicrotask(() => {
          const i = waiting.findIndex((w) => w.batch.start === batch.start);
          const [w] = waiting.splice(i, 1);
          w.resolve({ generation: w.batch.generation, end: w.batch.end });
        });
      }),
    acknowledge: (batch) => {
      acknowledged.push({
        generation: batch.generation,
        ino: (batch.source.file as FileIdentity).ino,
        start: batch.start,
        end: batch.end,
        text: text(batch.data),
        oversized: batch.oversized !== null,
      });
      return Promise.resolve();
    },
    log: LOG,
  });
  return { batcher, acknowledged, buffers, stop: () => (stopped = true) };
}

const limits = (over: Partial<BatchLimits> = {}): BatchLimits => ({
  batchLines: 1000,
  batchBytes: 1 << 20,
  maxLineBytes: 1024,
  flushMs: 60_000,
  ...over,
});

const linesRead = (generation: number, ino: number, offset: number, lines: string): TailRead => ({
  generation,
  file: fileOf(ino),
  item: { kind: "lines", offset, bytes: encoder.encode(lines) },
});

Deno.test("lines are gathered until the batch is full; the rest wait for their time or a drain", async () => {
  const { batcher, acknowledged } = batcherWith(limits({ batchLines: 2 }));
  assert.equal(await batcher.add(linesRead(0, 1, 0, "a\nb\nc\n")), true);
  assert.deepEqual(acknowledged.map((a) => a.text), ["a\nb\n"]);
  assert.equal(batcher.idle, false);
  assert.equal(await batcher.drain(), true);
  assert.deepEqual(acknowledged.map((a) => [a.start, a.end, a.text]), [[0, 4, "a\nb\n"], [
    4,
    6,
    "c\n",
  ]]);
  assert.equal(batcher.idle, true);
});

Deno.test("a batch is cut at the byte limit on a line boundary", async () => {
  const { batcher, acknowledged } = batcherWith(limits({ batchBytes: 5 }));
  await batcher.add(linesRead(0, 1, 0, "aa\nbb\ncc\n"));
  await batcher.drain();
  assert.deepEqual(acknowledged.map((a) => a.text), ["aa\n", "bb\n", "cc\n"]);
});

Deno.test("without a line limit, a batch is cut by size alone: as many whole lines as fit, or one longer line", async () => {
  const { batcher, acknowledged } = batcherWith(limits({ batchLines: Infinity, batchBytes: 7 }));
  await batcher.add(linesRead(0, 1, 0, "aa\nbb\n"));
  await batcher.add(linesRead(0, 1, 6, "cc\nlonger line\ndd\n"));
  await batcher.drain();
  assert.deepEqual(acknowledged.map((a) => a.text), ["aa\nbb\n", "cc\n", "longer line\n", "dd\n"]);
});

Deno.test("gathered lines are due flushMs after the first of them, and go with the next read then", async () => {
  const { batcher, acknowledged } = batcherWith(limits({ flushMs: 20 }));
  assert.equal(batcher.dueIn(), Infinity);
  await batcher.add(linesRead(0, 1, 0, "a\n"));
  const due = batcher.dueIn();
  assert.ok(due > 0 && due <= 20, `due in ${due} ms`);
  assert.ok(batcher.dueIn(Date.now() + 20) <= 0);
  assert.equal(acknowledged.length, 0);
  while (batcher.dueIn() > 0) await new Promise((r) => setTimeout(r, batcher.dueIn()));
  await batcher.add(linesRead(0, 1, 2, "b\n"));
  await batcher.settleAll();
  assert.deepEqual(acknowledged.map((a) => a.text), ["a\nb\n"]);
});

Deno.test("a read of another generation or another file sends what is gathered first", async () => {
  const { batcher, acknowledged } = batcherWith(limits());
  await batcher.add(linesRead(0, 1, 0, "a\n"));
  await batcher.add(linesRead(1, 2, 0, "b\n"));
  await batcher.add(linesRead(1, 3, 2, "c\n"));
  await batcher.drain();
  assert.deepEqual(acknowledged.map((a) => [a.generation, a.ino, a.text]), [
    [0, 1, "a\n"],
    [1, 2, "b\n"],
    [1, 3, "c\n"],
  ]);
});

Deno.test("a line longer than the limit goes alone, after what was gathered before it", async () => {
  const { batcher, acknowledged } = batcherWith(limits());
  await batcher.add(linesRead(0, 1, 0, "a\n"));
  await batcher.add({
    generation: 0,
    file: fileOf(1),
    item: { kind: "oversized", offset: 2, length: 5000, head: encoder.encode("xxxx") },
  });
  await batcher.add(linesRead(0, 1, 5002, "b\n"));
  await batcher.drain();
  assert.deepEqual(acknowledged.map((a) => [a.start, a.end, a.oversized]), [
    [0, 2, false],
    [2, 5002, true],
    [5002, 5004, false],
  ]);
});

Deno.test("once the store says the program stopped, add and drain say false and nothing more is acknowledged", async () => {
  const { batcher, acknowledged, stop } = batcherWith(limits({ batchLines: 1 }));
  await batcher.add(linesRead(0, 1, 0, "a\n"));
  stop();
  assert.equal(await batcher.add(linesRead(0, 1, 2, "b\n")), false);
  assert.equal(await batcher.drain(), true); // nothing was left gathered or in flight
  assert.deepEqual(acknowledged.map((a) => a.text), ["a\n"]);
});

Deno.test("property: every line read is acknowledged once, in order, in batches within the limits that never mix files", async () => {
  const read = fc.record({
    newFile: fc.boolean(),
    lines: fc.array(fc.stringMatching(/^[a-z]{0,12}\n$/), { minLength: 1, maxLength: 8 }),
    oversized: fc.boolean(),
  });
  await fc.assert(
    fc.asyncProperty(
      fc.array(read, { minLength: 1, maxLength: 25 }),
      // No line limit (Infinity) is feed mode's and tail-only's: batches cut by size alone.
      fc.oneof(fc.integer({ min: 1, max: 6 }), fc.constant(Infinity)),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 3 }),
      async (reads, batchLines, batchBytes, inFlight) => {
        const { batcher, acknowledged, buffers } = batcherWith(
          limits({ batchLines, batchBytes }),
          inFlight,
        );
        // The model: each generation's bytes from 0, oversized lines as their ranges only.
        const expected = new Map<number, string>();
        let generation = 0, offset = 0;
        for (const r of reads) {
          if (r.newFile) (generation++, offset = 0);
          const chunk = r.lines.join("");
          assert.equal(await batcher.add(linesRead(generation, generation, offset, chunk)), true);
          expected.set(generation, (expected.get(generation) ?? "") + chunk);
          offset += chunk.length;
          if (r.oversized) {
            await batcher.add({
              generation,
              file: fileOf(generation),
              item: { kind: "oversized", offset, length: 3000, head: new Uint8Array(0) },
            });
            expected.set(generation, expected.get(generation) + "#".repeat(3000));
            offset += 3000;
          }
        }
        assert.equal(await batcher.drain(), true);
        assert.equal(batcher.idle, true);
        const got = new Map<number, string>();
        const ends = new Map<number, number>();
        for (const a of acknowledged) {
          assert.equal(a.ino, a.generation, "a batch holds lines of one file");
          assert.equal(a.start, ends.get(a.generation) ?? 0, "batches follow each other");
          ends.set(a.generation, a.end);
          const body = a.oversized ? "#".repeat(a.end - a.start) : a.text;
          assert.equal(body.length, a.end - a.start);
          if (!a.oversized) {
            const lines = a.text.split("\n").length - 1;
            assert.ok(lines <= batchLines, `${lines} lines > ${batchLines}`);
            assert.ok(lines === 1 || a.text.length <= batchBytes, `${a.text.length} bytes`);
          }
          got.set(a.generation, (got.get(a.generation) ?? "") + body);
        }
        assert.deepEqual(got, expected);
        // The next batch is gathered while the others are in flight: one buffer each, no more.
        assert.ok(buffers.size <= inFlight, `${buffers.size} buffers for ${inFlight} in flight`);
      },
    ),
    { numRuns: 300 },
  );
});
