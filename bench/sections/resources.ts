/**
 * 4. Memory and 5. idle cost: capture's RSS on a large log, and its CPU on a quiet one.
 * @module
 */
import { join } from "node:path";
import { measure, num, program, Watched } from "../measure.ts";
import type { Bench, Section } from "../bench.ts";
import { MEMORY_TARGET } from "./latency.ts";

async function memory(bench: Bench): Promise<void> {
  console.error("4. memory");
  const lines = Math.round(bench.sizes.memBytes / 155);
  const path = await bench.simulatedLog(lines);
  const size = (await Deno.stat(path)).size;
  const result = await measure(
    program(
      "capture",
      bench.captureArgs(bench.freshDb(), join(bench.work, "memory.json"), "--once", path),
    ),
  );
  bench.add(
    "4. Memory",
    `peak RSS catching up on a ${num(size / 1e6)} MB log (feed mode)`,
    `${num(result.maxRssMb)} MB (${num(lines / result.seconds)} lines/s)`,
    MEMORY_TARGET,
  );
  bench.add("4. Memory", "RSS during live capture", bench.liveMemory.join("; ") || "n/a", "");
  await Deno.remove(path);
  bench.logs.delete(`lines-${lines}`);
}

export async function idle(bench: Bench, seconds = bench.sizes.idleS): Promise<void> {
  console.error("5. idle cost");
  const path = await bench.simulatedLog(1000);
  const child = new Watched(
    program("capture", bench.captureArgs(bench.freshDb(), join(bench.work, "idle.json"), path)),
  );
  await new Promise((r) => setTimeout(r, 3000));
  const before = await child.cpu();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const used = (await child.cpu()) - before;
  await child.stop();
  bench.add(
    "5. Idle cost",
    `CPU over ${seconds} s with a quiet log`,
    `${num(used, 2)} CPU-s (${num((used / seconds) * 100, 2)}% of a core)`,
    "Target: near zero",
  );
}

/** The memory section: the rows it adds. */
export const memorySection: Section = {
  name: "memory",
  run: (bench) => bench.rowsOf(() => memory(bench)),
};

/** The idle section: the rows it adds. */
export const idleSection: Section = {
  name: "idle",
  run: (bench) => bench.rowsOf(() => idle(bench)),
};
