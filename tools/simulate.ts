/**
 * Writes simulated spysocket lines to a file: `deno task simulate [--rate N] [--count N] FILE`.
 * `--rate 0` writes as fast as possible; `--count 0` writes forever.
 * @module
 */
import { parseArgs } from "node:util";
import { createSimulator, simulateText } from "./simulator.ts";
import { taskArgs } from "./deno_run.ts";

const USAGE =
  `usage: simulate [--rate LINES_PER_S] [--count N] [--seed N] [--vehicles N] [--single-space] FILE
  --rate N        lines per second, 0 for as fast as possible (default 10)
  --count N       lines to write, 0 for forever (default 0)
  --seed N        pseudo-random seed (default 1)
  --vehicles N    vehicles reporting (default 300)
  --single-space  one space between fields, as the 2012 simulator wrote`;

/** Appends simulated lines to `path` at `rate` lines/s (0: at once) until `count` lines (0: forever). */
export async function simulate(
  path: string,
  options: { rate: number; count: number; seed?: number; vehicles?: number; singleSpace?: boolean },
  signal?: AbortSignal,
): Promise<number> {
  const sim = createSimulator(options);
  const encoder = new TextEncoder();
  using file = await Deno.open(path, { append: true, create: true });
  let written = 0;
  const started = performance.now();
  while (!signal?.aborted && (options.count === 0 || written < options.count)) {
    const left = options.count === 0 ? Infinity : options.count - written;
    let n: number;
    if (options.rate === 0) n = Math.min(left, 10_000);
    else {
      const due = Math.floor(((performance.now() - started) / 1000) * options.rate) + 1;
      n = Math.min(left, due - written);
      if (n <= 0) {
        await new Promise((r) => setTimeout(r, Math.max(1, 1000 / options.rate)));
        continue;
      }
    }
    const bytes = encoder.encode(simulateText(sim, n));
    for (let at = 0; at < bytes.length;) at += await file.write(bytes.subarray(at));
    written += n;
  }
  return written;
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: taskArgs(),
    allowPositionals: true,
    options: {
      rate: { type: "string", default: "10" },
      count: { type: "string", default: "0" },
      seed: { type: "string", default: "1" },
      vehicles: { type: "string", default: "300" },
      "single-space": { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help || positionals.length !== 1) {
    console.error(USAGE);
    Deno.exit(values.help ? 0 : 2);
  }
  const numbers = [values.rate, values.count, values.seed, values.vehicles].map(Number);
  if (numbers.some((n) => !Number.isInteger(n) || n < 0)) {
    console.error("simulate: --rate, --count, --seed and --vehicles take whole numbers ≥ 0");
    Deno.exit(2);
  }
  const [rate, count, seed, vehicles] = numbers;
  const controller = new AbortController();
  Deno.addSignalListener("SIGINT", () => controller.abort());
  Deno.addSignalListener("SIGTERM", () => controller.abort());
  const written = await simulate(positionals[0], {
    rate,
    count,
    seed,
    vehicles: vehicles || 300,
    singleSpace: values["single-space"],
  }, controller.signal);
  console.error(`simulate: wrote ${written} lines to ${positionals[0]}`);
  Deno.exit(0);
}
