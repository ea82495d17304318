/**
 * `deno task bench [--quick] [--only SECTION,...] [--install-peers] [--out FILE]`: logcapture beside the limits and its
 * peers, in one run,
 * on simulated data. Prints a Markdown table and writes it, with the machine, the date and the
 * versions, to BENCHMARKS.md (or `--out`). Figures are medians of 3 runs (1 with `--quick`), with
 * min and max. Nothing here asserts a time: the tests only check that the quick run fills every row.
 * Peers that are not installed (syslog-ng, couchimport) are rows of "n/a"; `--install-peers`
 * installs them first (apt-get as root, npm into .cache/), and nothing is installed without it.
 *
 * `deno task bench -- --live MINUTES` is the long run apart, longer alone than the whole bench:
 * live capture at 1,000 lines/s for that long, its RSS each minute, then a minute of a quiet log.
 * It writes BENCHMARKS-live.md (or `--out`).
 * @module
 *
 * Each section is a module of `bench/sections/` that returns its rows; `--only catch-up,latency`
 * runs those alone (the names: formatting, catch-up, latency, memory, idle, correctness, scaling,
 * receiver).
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { taskArgs } from "../tools/deno_run.ts";
import { Bench, FULL_SIZES, QUICK_SIZES, type Row, type Section } from "./bench.ts";
import { num, ROOT } from "./measure.ts";
import { catchUpSection } from "./sections/catch_up.ts";
import { clusterSection } from "./sections/cluster.ts";
import { tailOnlySection } from "./sections/tail_only.ts";
import { correctnessSection } from "./sections/correctness.ts";
import { formattingSection } from "./sections/formatting.ts";
import { latencySection } from "./sections/latency.ts";
import { longLive } from "./sections/live.ts";
import { receiverSection } from "./sections/receiver.ts";
import { idleSection, memorySection } from "./sections/resources.ts";
import { scalingSection } from "./sections/scaling.ts";

/** Every section, in the order of the table. */
const SECTIONS: Section[] = [
  formattingSection,
  catchUpSection,
  latencySection,
  memorySection,
  idleSection,
  correctnessSection,
  scalingSection,
  receiverSection,
  tailOnlySection,
  clusterSection,
];

const { values: flags } = parseArgs({
  args: taskArgs(),
  options: {
    quick: { type: "boolean", default: false },
    "install-peers": { type: "boolean", default: false },
    live: { type: "string" },
    only: { type: "string" },
    out: { type: "string" },
  },
});
const quick = flags.quick!;
const liveMinutes = Number(flags.live ?? 0);
if (!(liveMinutes >= 0)) throw new Error(`--live takes minutes, not "${flags.live}"`);
const only = flags.only?.split(",").map((name) => name.trim()).filter(Boolean);
const unknown = only?.filter((name) => !SECTIONS.some((s) => s.name === name)) ?? [];
if (unknown.length > 0) {
  console.error(
    `bench: no section ${unknown.join(", ")}: --only takes ${
      SECTIONS.map((s) => s.name).join(", ")
    }`,
  );
  Deno.exit(2);
}
const SIZES = quick ? QUICK_SIZES : FULL_SIZES;

const started = performance.now();
const bench = await Bench.open({ sizes: SIZES, installPeers: flags["install-peers"]! });
const serverVersion = bench.serverVersion;
const rows: Row[] = [];
try {
  if (liveMinutes) rows.push(...await bench.rowsOf(() => longLive(bench, liveMinutes)));
  else {
    for (const section of SECTIONS) {
      if (!only || only.includes(section.name)) rows.push(...await section.run(bench));
    }
  }
} finally {
  await bench.close();
}

const cpuModel =
  (await Deno.readTextFile("/proc/cpuinfo").catch(() => "")).match(/model name\s*:\s*(.*)/)?.[1] ??
    "unknown CPU";
const memGb = Deno.systemMemoryInfo().total / 2 ** 30;
const table = [
  "| section | measure | logcapture | beside it / target |",
  "|---|---|---|---|",
  ...rows.map((r) => `| ${r.section} | ${r.measure} | ${r.result} | ${r.beside ?? ""} |`),
].join("\n");
const command = `deno task bench${
  quick ? " -- --quick" : liveMinutes ? ` -- --live ${flags.live}` : ""
}${only ? `${quick || liveMinutes ? "" : " --"} --only ${only.join(",")}` : ""}`;
const report = `# Benchmarks${liveMinutes ? ": the long live run" : ""}

${
  quick
    ? "Quick run (`deno task bench -- --quick`): small sizes, one run each — a smoke check, not figures.\n\n"
    : ""
}Run: \`${command}\` on ${
  new Date().toISOString().slice(0, 10)
}, ${navigator.hardwareConcurrency} cores (${cpuModel}), ${
  num(memGb, 1)
} GiB, Deno ${Deno.version.deno}, server: ${serverVersion}, in ${
  num((performance.now() - started) / 1000)
} s.
${
  liveMinutes
    ? "One run."
    : `Figures are medians of ${SIZES.runs} run${SIZES.runs > 1 ? "s" : ""}${
      SIZES.runs > 1 ? " (min–max)" : ""
    }.`
} The server runs on the same 2 cores as everything it is compared with.

${table}
`;
console.log(report);
await Deno.writeTextFile(
  flags.out ?? join(ROOT, liveMinutes ? "BENCHMARKS-live.md" : "BENCHMARKS.md"),
  report,
);
Deno.exit(0);
