import assert from "node:assert/strict";
import fc from "fast-check";
import { BatchBuilder, fitBytes, fitLines } from "../../lib/run/batch_builder.ts";

const FILE = { dev: 1, ino: 2, head: "", headLength: 0 };
const SOURCE = { id: "avl1", host: "h", path: "/var/log/spysocket.log" };
const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

Deno.test("a batch holds what was added since it began, from its offset, and the builder is empty after", () => {
  const builder = new BatchBuilder(16);
  builder.begin({ generation: 3, file: FILE }, 1000);
  builder.add(bytes("a\nb\n"), 2);
  builder.add(bytes("c\n"), 1);
  assert.deepEqual([builder.lines, builder.bytes, builder.empty], [3, 6, false]);
  const batch = builder.take(SOURCE);
  assert.deepEqual([batch.generation, batch.start, batch.end, text(batch.data)], [
    3,
    1000,
    1006,
    "a\nb\nc\n",
  ]);
  assert.equal(batch.source.file, FILE);
  assert.deepEqual([builder.lines, builder.bytes, builder.empty], [0, 0, true]);
});

Deno.test("property: batches in flight keep their lines while the next ones are gathered, whatever is recycled", () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.stringMatching(/^[a-z]{0,40}\n$/), { minLength: 1, maxLength: 5 }), {
        minLength: 1,
        maxLength: 20,
      }),
      fc.nat(3),
      (batches, keep) => {
        const builder = new BatchBuilder(32);
        const inFlight: { batch: ReturnType<BatchBuilder["take"]>; expected: string }[] = [];
        let offset = 0;
        for (const lines of batches) {
          builder.begin({ generation: 0, file: FILE }, offset);
          for (const line of lines) builder.add(bytes(line), 1);
          const batch = builder.take(SOURCE);
          inFlight.push({ batch, expected: lines.join("") });
          offset = batch.end;
          // The oldest are stored and given back while `keep` stay in flight.
          while (inFlight.length > keep) {
            const done = inFlight.shift()!;
            assert.equal(text(done.batch.data), done.expected);
            builder.recycle(done.batch);
          }
        }
        for (const { batch, expected } of inFlight) assert.equal(text(batch.data), expected);
      },
    ),
  );
});

Deno.test("property: what fits in a batch is whole lines, within its room, and never nothing", () => {
  fc.assert(
    fc.property(
      fc.array(fc.stringMatching(/^[a-z]{0,30}\n$/), { minLength: 1, maxLength: 30 }),
      fc.integer({ min: 1, max: 10 }),
      fc.integer({ min: 1, max: 200 }),
      (lines, roomLines, roomBytes) => {
        const data = bytes(lines.join(""));
        const { to, lines: taken } = fitLines(data, 0, roomLines, roomBytes);
        assert.ok(taken >= 1 && taken <= roomLines);
        assert.equal(to, bytes(lines.slice(0, taken).join("")).length, "whole lines");
        // Over the byte room only when a single line is longer than it.
        if (to > roomBytes) assert.equal(taken, 1);
        // As many as fit: one more line would break a limit.
        if (taken < lines.length && taken < roomLines) {
          assert.ok(
            bytes(lines.slice(0, taken + 1).join("")).length > roomBytes || to >= roomBytes,
          );
        }
      },
    ),
  );
});

Deno.test("property: cut by size alone, a batch ends where the line-counting cut ends with no line limit", () => {
  fc.assert(
    fc.property(
      fc.array(fc.stringMatching(/^[a-z]{0,30}\n$/), { minLength: 1, maxLength: 30 }),
      fc.nat(29),
      fc.integer({ min: 1, max: 200 }),
      (lines, skip, roomBytes) => {
        const data = bytes(lines.join(""));
        const from = bytes(lines.slice(0, Math.min(skip, lines.length - 1)).join("")).length;
        assert.equal(fitBytes(data, from, roomBytes), fitLines(data, from, Infinity, roomBytes).to);
      },
    ),
  );
});

Deno.test("a buffer given back before the next batch begins is the one it is gathered in: one batch in flight at a time needs one buffer", () => {
  const builder = new BatchBuilder(16);
  const buffers = new Set<ArrayBufferLike>();
  let offset = 0;
  for (const line of ["a\n", "bb\n", "ccc\n"]) {
    builder.begin({ generation: 0, file: FILE }, offset);
    builder.add(bytes(line), 1);
    const batch = builder.take(SOURCE);
    assert.equal(text(batch.data), line);
    buffers.add(batch.data.buffer);
    offset = batch.end;
    builder.recycle(batch); // stored before the next batch is gathered, as a window of one does
  }
  assert.equal(buffers.size, 1);
});
