/**
 * The monitor loop in-process, over real extract files, with a stand-in store that takes its time
 * and reads each batch's lines only when it is done: a batch's lines must stay intact while it is
 * in flight, whatever the window, the extracts' sizes and the batches' boundaries.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { extractName } from "../../lib/sink/batch.ts";
import { PermanentError } from "../../lib/base/errors.ts";
import { createLogger } from "../../lib/base/log.ts";
import { runMonitor } from "../../lib/run/monitor_loop.ts";
import type { Batch } from "../../lib/sink/batch.ts";
import type { SinkResult } from "../../lib/sink/sink.ts";
import { simulatedLines } from "../helpers.ts";

const quiet = createLogger({ level: "error" });

/** Cuts `log` into extracts at the given line counts, written into `dir`. */
async function extractsOf(dir: string, log: Uint8Array, cuts: number[]): Promise<void> {
  const ends: number[] = [];
  for (let i = 0; i < log.length; i++) if (log[i] === 10) ends.push(i + 1);
  let start = 0, line = 0;
  for (const cut of [...cuts, Infinity]) {
    line = Math.min(ends.length, line + cut);
    const end = line === 0 ? 0 : ends[line - 1];
    if (end > start) {
      await Deno.writeFile(
        `${dir}/${extractName("src", 0, start, end, "0123456789abcdef")}`,
        log.subarray(start, end),
      );
    }
    start = end;
    if (line === ends.length) break;
  }
}

Deno.test("property: the monitor hands each byte of its extracts to the store once, in order, intact until the store is done with it", async () => {
  const text = simulatedLines(31)(9000); // about 1.4 MB: extracts may span several read buffers
  const log = new TextEncoder().encode(text);
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 0, maxLength: 6 }),
      fc.integer({ min: 50, max: 4000 }),
      fc.integer({ min: 1, max: 3 }),
      async (cuts, batchLines, inFlight) => {
        const dir = await Deno.makeTempDir();
        try {
          await extractsOf(dir, log, cuts);
          const stored: [number, number][] = [];
          const store = async (batch: Batch): Promise<SinkResult> => {
            // Take a while, then look at the lines only now, as a slow store would.
            await new Promise((r) => setTimeout(r, Math.random() * 3));
            // Permanent, so that the monitor stops on it rather than retrying.
            const expected = log.subarray(batch.start, batch.end);
            if (!batch.data.every((byte, i) => byte === expected[i])) {
              throw new PermanentError(
                `the lines of ${batch.start}-${batch.end} changed in flight`,
              );
            }
            stored.push([batch.start, batch.end]);
            return { generation: batch.generation, end: batch.end, rows: 0 };
          };
          await runMonitor(
            { dir, once: true, done: "delete", store, maxLineBytes: 1 << 20, batchLines, inFlight },
            quiet,
            new AbortController().signal,
          );
          stored.sort((a, b) => a[0] - b[0]);
          let at = 0;
          for (const [start, end] of stored) {
            assert.equal(start, at, "a gap or an overlap");
            at = end;
          }
          assert.equal(at, log.length);
          assert.deepEqual([...Deno.readDirSync(dir)].filter((e) => e.isFile), []);
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      },
    ),
    { numRuns: 15 },
  );
});
