/**
 * `--live MINUTES`: one capture at 1,000 lines/s for that long, then a quiet log.
 * @module
 */
import { num } from "../measure.ts";
import type { Bench } from "../bench.ts";
import { latency, latencyText, MEMORY_TARGET } from "./latency.ts";
import { idle } from "./resources.ts";

/** `--live`: one capture at 1,000 lines/s for `minutes`, its RSS sampled each minute. */
export async function longLive(bench: Bench, minutes: number): Promise<void> {
  console.error(`live capture for ${minutes} minutes`);
  const seconds = minutes * 60;
  const r = await latency(bench, "all-in-one", 1000, seconds, undefined, Math.min(60, seconds / 4));
  const middle = r.rss.find((s) => s.seconds >= seconds / 2)!, end = r.rss.at(-1)!;
  const perMinute = ((end.mb - middle.mb) / (end.seconds - middle.seconds)) * 60;
  bench.add(
    "3. Live latency (append → visible in _changes)",
    `all-in-one, 1,000 lines/s for ${num(minutes, 1)} minutes`,
    latencyText(r),
    "Target p99 < 1 s",
  );
  bench.add(
    "4. Memory",
    `RSS over ${num(minutes, 1)} minutes of live capture, all-in-one, 1,000 lines/s`,
    `${r.rss.map((s) => num(s.mb, 1)).join(", ")} MB every ${r.rss[0].seconds} s; ${
      perMinute >= 0 ? "+" : ""
    }${num(perMinute, 2)} MB a minute over the second half; ${num(r.cpuShare * 100, 1)}% of a core`,
    MEMORY_TARGET,
  );
  await idle(bench, Math.min(60, seconds));
}
