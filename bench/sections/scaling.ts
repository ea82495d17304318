/**
 * 7. Scaling: latency as the log grows.
 * @module
 */
import { join } from "node:path";
import { Proxy } from "../../tools/proxy.ts";
import { measure, num, program, repeat } from "../measure.ts";
import type { Bench, Section } from "../bench.ts";
import { latency } from "./latency.ts";

async function scaling(bench: Bench): Promise<void> {
  console.error("7. scaling");
  const parts: string[] = [];
  for (const lines of bench.sizes.scaling) {
    const path = await bench.simulatedLog(lines);
    const s = await repeat(bench.sizes.runs, async (i) => {
      const result = await measure(
        program(
          "capture",
          bench.captureArgs(
            bench.freshDb(),
            join(bench.work, `scale-${lines}-${i}.json`),
            "--once",
            path,
          ),
        ),
      );
      return result.seconds;
    });
    parts.push(`${num(lines)} lines: ${num(s.median, 2)} s (${num(lines / s.median)} lines/s)`);
  }
  bench.add(
    "7. Scaling",
    "catch-up time, feed mode (includes ~0.2 s start-up)",
    parts.join("; "),
    "linear",
  );
  using proxy = new Proxy(bench.base!);
  for (const delay of [0, 200]) {
    proxy.delayMs = delay;
    const r = await latency(bench, "all-in-one", 1000, bench.sizes.slowS, proxy);
    bench.add(
      "7. Scaling",
      `CouchDB answering ${
        delay ? `${delay} ms slower (delaying proxy)` : "at full speed (through the proxy)"
      }, 1,000 lines/s`,
      `p50 ${num(r.p50)} ms, p99 ${num(r.p99)} ms; ${num(r.linesPerDoc)} lines per batch; ${
        num(r.behindAtEnd)
      } bytes behind at the end`,
      delay ? "batches grow, lag stays bounded" : "",
    );
  }
}

/** The scaling section: the rows it adds. */
export const scalingSection: Section = {
  name: "scaling",
  run: (bench) => bench.rowsOf(() => scaling(bench)),
};
