import assert from "node:assert/strict";
import fc from "fast-check";
import { Generations } from "../../lib/source/generations.ts";

Deno.test("numbering starts where the cache file says, and each file after the current one gets the next number", () => {
  const generations = new Generations();
  generations.startAt(3);
  assert.equal(generations.current, null);
  assert.equal(generations.following(), 3);
  assert.equal(generations.assign(generations.following()), 3);
  assert.equal(generations.assign(generations.following()), 4);
  assert.equal(generations.current, 4);
});

Deno.test("following() only looks: the number is taken by assign", () => {
  const generations = new Generations();
  generations.assign(0);
  assert.equal(generations.following(), 1);
  assert.equal(generations.following(), 1);
});

Deno.test("a file located lower than the next number keeps it, and no later file reuses a number given before", () => {
  const generations = new Generations();
  generations.startAt(8); // the cache file's file is gone: whatever comes is 8 or later
  generations.assign(2); // but CouchDB knows this file: it was generation 2
  assert.equal(generations.current, 2);
  assert.equal(generations.following(), 8);
});

Deno.test("moved: the current file takes the stored number, said once, and later files come after it", () => {
  const generations = new Generations();
  generations.startAt(0);
  generations.assign(0);
  assert.equal(generations.moved(0, 4), true);
  assert.equal(generations.moved(0, 4), false); // a later batch of the same file, in flight
  assert.deepEqual([generations.current, generations.following()], [4, 5]);
  assert.equal(generations.moved(4, 4), false); // stored under its own number
});

Deno.test("moved for a file no longer current leaves the current one, but its number is not given again", () => {
  const generations = new Generations();
  generations.assign(0);
  generations.assign(generations.following()); // the next file (1) began while 0's batches were in flight
  assert.equal(generations.moved(0, 7), true);
  assert.equal(generations.current, 1);
  assert.equal(generations.following(), 8); // 7 is the first file's now
});

Deno.test("property: a number once given or stored is never given to a later file", () => {
  const step = fc.oneof(
    fc.constant({ kind: "next" as const }),
    fc.record({ kind: fc.constant("moved" as const), to: fc.nat(12) }),
    fc.record({ kind: fc.constant("located" as const), generation: fc.nat(12) }),
  );
  fc.assert(
    fc.property(fc.nat(5), fc.array(step, { maxLength: 40 }), (first, steps) => {
      const generations = new Generations();
      generations.startAt(first);
      const used = new Set<number>();
      for (const s of steps) {
        if (s.kind === "next") {
          const n = generations.following();
          assert.ok(!used.has(n), `${n} was given before`);
          assert.ok(n >= first);
          used.add(generations.assign(n));
        } else if (s.kind === "located") {
          used.add(generations.assign(s.generation));
        } else if (generations.current !== null) {
          generations.moved(generations.current, s.to);
          used.add(s.to);
          assert.equal(generations.current, s.to);
        }
      }
    }),
  );
});
