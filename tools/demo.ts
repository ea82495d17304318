/**
 * `deno task demo`: the main job on a demo setup. Starts a CouchDB API server (pouchdb-server,
 * installed on the fly) unless `COUCHDB_URL` is given, writes a simulated spysocket log at a
 * realistic rate, runs `capture` all-in-one on it, and prints every couple of seconds the lines
 * written, the rows in CouchDB and the lag. When rows stop coming, it shows what capture last said;
 * when capture exits, why. Ctrl-C stops everything it started, in order: the writer; capture, once
 * its rows have caught up with the lines written; the final count; the server. Capture and the
 * server run in sessions of their own, out of Ctrl-C's reach, so that the order is the demo's. Its
 * files live in one temporary folder, removed at the end.
 * @module
 */
import { redactUrl } from "../lib/base/redact.ts";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createSimulator, simulateText } from "./simulator.ts";
import { hasSetsid, startCouchServer } from "./couch_server.ts";
import { denoRunArgs, taskArgs } from "./deno_run.ts";

const { values } = parseArgs({
  args: taskArgs(),
  options: { rate: { type: "string", default: "200" }, seconds: { type: "string", default: "0" } },
});
const rate = Number(values.rate);
const stopAfter = Number(values.seconds) * 1000;

const dir = await Deno.makeTempDir({ prefix: "logcapture-demo-" });
const stop = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => stop.abort());
}

let server: Awaited<ReturnType<typeof startCouchServer>> | null = null;
let captureFailed = false;
let capture: Deno.ChildProcess | null = null;
try {
  let base = Deno.env.get("COUCHDB_URL")?.replace(/\/+$/, "");
  if (!base) {
    console.log("starting a CouchDB API server (pouchdb-server) on loopback…");
    server = await startCouchServer(undefined, { ownSession: true });
    base = server.url;
  }
  const display = redactUrl(base);
  const db = `${base}/logcapture_demo_${Date.now().toString(36)}`;
  const log = join(dir, "spysocket.log");
  await Deno.writeTextFile(log, "");
  console.log(`log:     ${log} (${rate} lines/s)`);
  console.log(`couchdb: ${display}/${db.split("/").pop()}`);
  // Were capture in Ctrl-C's process group, it would stop on the same signal as the writer, and
  // the writer's last slice would be left in the log for the next run: the final count would be
  // short of it. setsid execs capture (same PID), so `capture.kill` still reaches it.
  const own = await hasSetsid();
  const captureArgs = denoRunArgs("capture", "capture.ts", [
    "--couchdb",
    db,
    "--cache",
    join(dir, "cache.json"),
    "--source",
    "demo",
    log,
  ]);
  capture = new Deno.Command(own ? "setsid" : Deno.execPath(), {
    args: own ? [Deno.execPath(), ...captureArgs] : captureArgs,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const captureLogPath = join(dir, "capture.log");
  const captureLog = (async () => {
    using file = await Deno.open(captureLogPath, { write: true, create: true });
    for await (const chunk of capture!.stderr) await file.write(chunk);
  })();
  let captureExit: number | null = null;
  capture.status.then((status) => (captureExit = status.code));
  /** Capture's last lines but its debug ones, to show why rows are not coming. */
  const captureSays = async (count: number): Promise<string> => {
    const text = await Deno.readTextFile(captureLogPath).catch(() => "");
    const said = text.trim().split("\n").filter((l) => l && !l.includes(" DEBUG ")).slice(-count);
    return said.length ? said.map((l) => `  capture: ${l}`).join("\n") : "  (capture said nothing)";
  };

  // The writer: `rate` lines a second, in small slices, like a busy AVL server.
  const sim = createSimulator({ seed: Date.now() % 100000 });
  const encoder = new TextEncoder();
  let written = 0;
  const started = Date.now();
  // Counted from the first line written: a first run's install and server start are not in it.
  if (stopAfter > 0) setTimeout(() => stop.abort(), stopAfter);
  const writer = (async () => {
    using file = await Deno.open(log, { append: true });
    while (!stop.signal.aborted) {
      const due = Math.floor(((Date.now() - started) / 1000) * rate);
      if (due > written) {
        await file.write(encoder.encode(simulateText(sim, due - written)));
        written = due;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();

  const headers = { Accept: "application/json" };
  const rowsStored = async (): Promise<number> => {
    const response = await fetch(`${db}/_design/feed/_view/rows`, { headers }).catch(() => null);
    const body = await response?.json().catch(() => null);
    return body?.rows?.[0]?.value ?? 0;
  };
  let shownSamples = false;
  let stalled = 0;
  let lastRows = 0;
  while (!stop.signal.aborted) {
    await new Promise((r) => {
      const t = setTimeout(r, 2000);
      stop.signal.addEventListener("abort", () => {
        clearTimeout(t);
        r(null);
      }, { once: true });
    });
    if (stop.signal.aborted) break;
    if (captureExit !== null) {
      await captureLog.catch(() => {});
      console.log(`capture exited (code ${captureExit}):\n${await captureSays(5)}`);
      captureFailed = captureExit !== 0;
      break;
    }
    const rows = await rowsStored();
    // Rows not growing while lines are written: say what capture last said, once per stall.
    stalled = rows > lastRows || written === rows ? 0 : stalled + 1;
    lastRows = rows;
    if (stalled === 3) {
      console.log(`no new rows for 6 s; capture last said:\n${await captureSays(3)}`);
    }
    const seconds = Math.round((Date.now() - started) / 1000);
    console.log(
      `${String(seconds).padStart(4)} s  written ${String(written).padStart(7)} lines  in CouchDB ${
        String(rows).padStart(7)
      } rows  lag ${String(Math.max(0, written - rows)).padStart(5)} lines (${
        (Math.max(0, written - rows) / rate).toFixed(1)
      } s)`,
    );
    if (!shownSamples && rows > 0) {
      shownSamples = true;
      const list =
        await (await fetch(`${db}/_all_docs?limit=1&startkey=%22feed%3A%22`, { headers })).json();
      const id = list.rows?.[0]?.id;
      if (id) {
        const csv = await (await fetch(`${db}/${encodeURIComponent(id)}/feed`)).text();
        console.log("sample rows:\n  " + csv.split("\n").slice(0, 4).join("\n  "));
        console.log(
          `look at them: ${display}/${
            db.split("/").pop()
          }/_all_docs?include_docs=true (the CSV is each document's "feed" attachment)`,
        );
      }
    }
  }
  stop.abort();
  await writer;
  // The last lines written are given a few seconds to arrive, so that the final count is whole.
  const drainDeadline = Date.now() + 10_000;
  while (captureExit === null && Date.now() < drainDeadline && await rowsStored() < written) {
    await new Promise((r) => setTimeout(r, 100));
  }
  if (captureExit === null) {
    try {
      capture.kill("SIGTERM"); // it may have stopped already, on the same Ctrl-C
    } catch {
      // already gone
    }
  }
  await capture.status;
  await captureLog.catch(() => {});
  capture = null;
  console.log(`stopped: ${written} lines written, ${await rowsStored()} rows in CouchDB`);
} finally {
  try {
    capture?.kill("SIGKILL");
  } catch {
    // gone
  }
  await server?.[Symbol.asyncDispose]();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
// A capture that failed on its own (a refusing server, say) fails the demo.
Deno.exit(captureFailed ? 1 : 0);
