import assert from "node:assert/strict";
import fc from "fast-check";
import { InFlight } from "../../lib/base/window.ts";

Deno.test("a window settles its work in the order it was started, whatever order it ends in", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.nat(20), { minLength: 1, maxLength: 12 }), async (delays) => {
      const window = new InFlight<number, number>(delays.length);
      delays.forEach((ms, i) =>
        window.push(i, new Promise((resolve) => setTimeout(() => resolve(i * 10), ms)))
      );
      const order: number[] = [];
      while (window.size > 0) {
        const settled = await window.shift();
        assert.deepEqual(settled.ok && settled.value, settled.item * 10);
        order.push(settled.item);
      }
      assert.deepEqual(order, delays.map((_, i) => i));
    }),
    { numRuns: 30 },
  );
});

Deno.test("a failure waits for its turn, and is handed over with its item, not thrown", async () => {
  const window = new InFlight<string, string>(3);
  window.push("a", new Promise((resolve) => setTimeout(() => resolve("stored"), 5)));
  window.push("b", Promise.reject(new Error("refused")));
  const first = await window.shift();
  assert.deepEqual(first, { item: "a", ok: true, value: "stored" });
  const second = await window.shift();
  assert.deepEqual(second.item, "b");
  assert.deepEqual(second.ok ? null : (second.error as Error).message, "refused");
});

Deno.test("a window is full at its limit, and its limit is at least one", async () => {
  const one = new InFlight<number, void>(0);
  assert.deepEqual(one.limit, 1);
  assert.deepEqual(one.full, false);
  one.push(1, Promise.resolve());
  assert.deepEqual(one.full, true);
  await one.shift();
  assert.deepEqual(one.full, false);
  await assert.rejects(one.shift(), /nothing is in flight/);
});
