import assert from "node:assert/strict";
import fc from "fast-check";
import { createLogger } from "../../lib/base/log.ts";
import type { Batch } from "../../lib/sink/batch.ts";
import type { SinkResult } from "../../lib/sink/sink.ts";
import { Delivery } from "../../lib/run/delivery.ts";

const quiet = createLogger({ level: "error" });
const file = { id: "0123456789abcdef" };
const batch = (start: number): Batch => ({
  source: { id: "s", host: "h", path: "/x.log", file },
  generation: 0,
  start,
  end: start + 1,
  data: new Uint8Array(1),
  oversized: null,
  readAt: new Date(),
});

Deno.test("property: batches are acknowledged in the order sent, never more in flight than the limit", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.nat(5), { minLength: 1, maxLength: 15 }),
      fc.integer({ min: 1, max: 4 }),
      async (delays, limit) => {
        let inFlight = 0, most = 0;
        const acknowledged: number[] = [];
        const delivery = new Delivery<{ batch: Batch }>({
          limit,
          store: async (b) => {
            most = Math.max(most, ++inFlight);
            await new Promise((r) => setTimeout(r, delays[b.start]));
            inFlight--;
            return { generation: 0, end: b.end };
          },
          acknowledge: ({ batch }) => (acknowledged.push(batch.start), Promise.resolve()),
          log: quiet,
        });
        for (let i = 0; i < delays.length; i++) {
          assert.equal(
            await delivery.send({ batch: batch(i) }),
            true,
          );
        }
        assert.equal(await delivery.settleAll(), true);
        assert.deepEqual(acknowledged, delays.map((_, i) => i));
        assert.ok(most <= limit, `${most} in flight with a limit of ${limit}`);
      },
    ),
    { numRuns: 25 },
  );
});

Deno.test("a stop (a null result) acknowledges nothing after it, and still waits for what is in flight", async () => {
  const acknowledged: number[] = [];
  const settled: number[] = [];
  const results: (SinkResult | null)[] = [{ generation: 0, end: 1 }, null, {
    generation: 0,
    end: 3,
  }];
  const delivery = new Delivery<{ batch: Batch }>({
    limit: 3,
    store: (b) => Promise.resolve(results[b.start]),
    settled: ({ batch }) => settled.push(batch.start),
    acknowledge: ({ batch }) => (acknowledged.push(batch.start), Promise.resolve()),
    log: quiet,
  });
  for (const i of [0, 1, 2]) await delivery.send({ batch: batch(i) });
  assert.equal(await delivery.settleAll(), false);
  assert.deepEqual(acknowledged, [0]);
  assert.deepEqual(settled, [0, 1, 2]);
  assert.equal(delivery.size, 0);
});

Deno.test("a failed store is thrown in its turn, after the ones sent before it are acknowledged", async () => {
  const acknowledged: number[] = [];
  const delivery = new Delivery<{ batch: Batch }>({
    limit: 3,
    store: (b) =>
      b.start === 1
        ? Promise.reject(new Error("refused"))
        : Promise.resolve({ generation: 0, end: b.end }),
    acknowledge: ({ batch }) => (acknowledged.push(batch.start), Promise.resolve()),
    log: quiet,
  });
  for (const i of [0, 1, 2]) await delivery.send({ batch: batch(i) });
  await assert.rejects(delivery.settleAll(), /refused/);
  assert.deepEqual(acknowledged, [0]);
});

Deno.test("batches of another generation or file wait until those in flight are acknowledged", async () => {
  const events: string[] = [];
  const of = (generation: number, start: number): Batch => ({ ...batch(start), generation });
  const delivery = new Delivery<{ batch: Batch }>({
    limit: 3,
    store: async (b) => {
      events.push(`store ${b.generation}:${b.start}`);
      await new Promise((r) => setTimeout(r, b.start === 0 ? 20 : 1));
      return { generation: b.generation, end: b.end };
    },
    acknowledge: (
      { batch },
    ) => (events.push(`ack ${batch.generation}:${batch.start}`), Promise.resolve()),
    log: quiet,
  });
  await delivery.send({ batch: of(0, 0) });
  await delivery.send({ batch: of(0, 1) });
  await delivery.send({ batch: of(1, 0) }); // the next file: after both of generation 0
  await delivery.settleAll();
  assert.deepEqual(events, [
    "store 0:0",
    "store 0:1",
    "ack 0:0",
    "ack 0:1",
    "store 1:0",
    "ack 1:0",
  ]);
});

Deno.test("each store is given its turn: it settles once the batch sent before it is stored", async () => {
  const order: string[] = [];
  const delivery = new Delivery<{ batch: Batch }>({
    limit: 2,
    store: async (b, turn) => {
      order.push(`made ${b.start}`);
      if (b.start === 0) assert.equal(turn, undefined, "nothing before the first");
      await turn;
      order.push(`sent ${b.start}`);
      await new Promise((r) => setTimeout(r, b.start === 0 ? 20 : 1));
      order.push(`stored ${b.start}`);
      return { generation: 0, end: b.end };
    },
    acknowledge: () => Promise.resolve(),
    log: quiet,
  });
  await delivery.send({ batch: batch(0) });
  await delivery.send({ batch: batch(1) });
  await delivery.settleAll();
  assert.deepEqual(order, ["made 0", "sent 0", "made 1", "stored 0", "sent 1", "stored 1"]);
});
