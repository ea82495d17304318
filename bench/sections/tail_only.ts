/**
 * 10. The production host's cost in tail-only mode: capture handing a backlog over in extracts,
 * into a drop directory, and to a receiving monitor on loopback over HTTP and over HTTPS (a private
 * CA; every byte is encrypted, so TLS costs per line too). Only capture's own CPU and memory
 * count: it copies bytes and checks identity, nothing more.
 * @module
 */
import { join } from "node:path";
import { freePort } from "../../tools/couch_server.ts";
import { TAIL_ONLY_BATCH_BYTES } from "../../lib/cli/options.ts";
import { measure, num, program, repeat, show, spread, waitUntil, Watched } from "../measure.ts";
import type { Bench, Section } from "../bench.ts";
import { type LoopbackCertificates, loopbackCertificates } from "../../tools/certificates.ts";

const SECTION = "10. The production host's cost (tail-only)";

async function tailOnly(bench: Bench): Promise<void> {
  console.error("10. tail-only cost");
  const lines = bench.sizes.feed;
  const log = await bench.simulatedLog(lines);
  const empty = join(bench.work, "tail-empty.log");
  await Deno.writeFile(empty, new Uint8Array(0));
  const run = async (target: (drop: string) => string[], path: string) => {
    const drop = await Deno.makeTempDir({ dir: bench.work, prefix: "tail-" });
    // A source of its own each run: a receiver that holds this log already would skip it all.
    const source = `tail-${crypto.randomUUID().slice(0, 8)}`;
    const args = [
      "-t",
      "Tail_Only",
      "--source",
      source,
      "--cache",
      join(drop, ".c.json"),
      "--once",
    ];
    const result = await measure(program("capture", [...args, ...target(drop), path]));
    if (result.code !== 0) throw new Error(`capture -t failed: ${result.stderr.slice(-500)}`);
    await Deno.remove(drop, { recursive: true });
    return result;
  };
  const cost = async (name: string, target: (drop: string) => string[]) => {
    const startup = await repeat(
      bench.sizes.runs,
      async () => (await run(target, empty)).cpuSeconds,
    );
    const runs = [];
    for (let i = 0; i < bench.sizes.runs; i++) runs.push(await run(target, log));
    const cpu = spread(runs.map((r) => ((r.cpuSeconds - startup.median) / lines) * 1e6));
    bench.add(
      SECTION,
      `capture -t Tail_Only, ${num(lines)} backlog lines in extracts of up to ${
        TAIL_ONLY_BATCH_BYTES >> 20
      } MiB (the default), ${name}`,
      `${show(spread(runs.map((r) => lines / r.seconds)), 0, "lines/s")}; ${
        num(cpu.median, 2)
      } CPU-s per million lines (start-up, ${num(startup.median, 2)} CPU-s, left out); peak RSS ${
        num(spread(runs.map((r) => r.maxRssMb)).median)
      } MB`,
      "Targets ≤ 0.2 CPU-s per million lines, peak RSS ≤ 64 MB",
    );
  };
  await cost("into a drop directory", (drop) => ["--extract-dir", drop]);
  const tokenFile = join(bench.work, "tail-token");
  await Deno.writeTextFile(tokenFile, "bench-token\n", { mode: 0o600 });
  await overReceiver(bench, tokenFile, null, cost);
  const tls = await loopbackCertificates(
    await Deno.makeTempDir({ dir: bench.work, prefix: "tls-" }),
  );
  if (tls) await overReceiver(bench, tokenFile, tls, cost);
  else {
    bench.add(
      SECTION,
      `capture -t Tail_Only, ${num(lines)} backlog lines, over HTTPS to a receiving monitor`,
      "skipped: openssl could not make the certificates",
      "Targets ≤ 0.2 CPU-s per million lines, peak RSS ≤ 64 MB",
    );
  }
}

/**
 * Measures `cost` of shipping to a monitor's receiver on loopback, over HTTPS with `tls`'s
 * certificates (a private CA, as `--ca-file`), else over plain HTTP.
 */
async function overReceiver(
  bench: Bench,
  tokenFile: string,
  tls: LoopbackCertificates | null,
  cost: (name: string, target: (drop: string) => string[]) => Promise<void>,
): Promise<void> {
  const receiving = await Deno.makeTempDir({ dir: bench.work, prefix: "receiving-" });
  const port = freePort();
  const scheme = tls ? "https" : "http";
  const monitor = new Watched(program("monitor", [
    ...["--couchdb", bench.freshDb(), "--year", bench.year, "--listen", `127.0.0.1:${port}`],
    ...(tls ? ["--tls-cert", tls.cert, "--tls-key", tls.key] : []),
    ...["--token-file", tokenFile, "--done", "delete", receiving],
  ]));
  try {
    const client = tls
      ? Deno.createHttpClient({ caCerts: [await Deno.readTextFile(tls.ca)] })
      : undefined;
    await waitUntil(
      () =>
        fetch(`${scheme}://127.0.0.1:${port}/`, { client })
          .then((r) => (r.body?.cancel(), true), () => false),
      30_000,
    );
    client?.close();
    await cost(`over ${scheme.toUpperCase()} to a receiving monitor`, () => [
      ...["--ship-to", `${scheme}://127.0.0.1:${port}`, "--token-file", tokenFile],
      ...(tls ? ["--ca-file", tls.ca] : []),
    ]);
  } finally {
    await monitor.stop();
  }
}

/** The tail-only section: the rows it adds. */
export const tailOnlySection: Section = {
  name: "tail-only",
  run: (bench) => bench.rowsOf(() => tailOnly(bench)),
};
