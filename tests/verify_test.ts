/**
 * `capture verify` against a real CouchDB: a log captured whole is complete; and each breakage is
 * found and named by its byte range, with exit 1: a document deleted by hand, one stored twice
 * under another id, a foreign document, a line of records mode gone. Rotated files (a compressed
 * one too) are verified by their text. The counts of these tests are their own: verify is checked
 * against what the test wrote, not against itself.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { FaultProxy } from "../tools/fault_proxy.ts";
import {
  append,
  captureArgs,
  feedDocs,
  freePortForTest,
  freshDb,
  numbered,
  readMetric,
  receivingMonitor,
  recordDocs,
  run,
  Running,
  serverUrl,
  tempDir,
  test,
  until,
} from "./helpers.ts";

/** Deletes a document as an operator would, by hand. */
async function deleteByHand(db: string, doc: { _id: string; _rev: string }): Promise<void> {
  const url = `${db}/${encodeURIComponent(doc._id)}?rev=${doc._rev}`;
  const response = await fetch(url, { method: "DELETE" });
  assert.ok(response.ok, await response.text());
}

/** `PROGRAM verify --json ARGS`: its exit code (0 or 1) and its report; else what it said. */
async function verifyRun(program: "capture" | "monitor", ...args: string[]) {
  const result = await run(program, ["verify", "--json", ...args]);
  const said = `${program} verify exited ${result.code}: ${result.stderr}`;
  assert.ok(result.code === 0 || result.code === 1, said);
  try {
    return { code: result.code, report: JSON.parse(result.stdout) };
  } catch {
    throw new Error(`no report: ${said}`);
  }
}

/** `capture verify` with the capture's own arguments; `--json` parsed. */
function verify(db: string, dir: string, log: string, ...extra: string[]) {
  return verifyRun("capture", ...extra, ...captureArgs(db, dir, log));
}

/** A log of 100 lines that a tail-only capture has handed to `DIR/drop` in extracts of 20. */
async function extractedTailOnly(dir: string) {
  const log = `${dir}/spysocket.log`;
  const drop = `${dir}/drop`;
  await Deno.mkdir(drop);
  await Deno.writeTextFile(log, numbered(0, 100));
  const tail = ["-t", "Tail_Only", "--cache", `${dir}/cache.json`, "--source", "t"];
  const args = [...tail, "--extract-dir", drop, "--once", "--batch-lines", "20", log];
  const extracted = await run("capture", args);
  assert.equal(extracted.code, 0, extracted.stderr);
  return { log, drop, tail };
}

async function capture(db: string, dir: string, log: string, ...extra: string[]) {
  const result = await run(
    "capture",
    captureArgs(db, dir, "--once", "--rotate-wait", "0", "--batch-lines", "20", ...extra, log),
  );
  assert.equal(result.code, 0, result.stderr);
}

test("verify: a log captured whole is complete (exit 0); a document deleted, doubled or foreign is named, exit 1", async () => {
  await using dir = await tempDir();
  const db = freshDb("verify");
  const log = `${dir.path}/spysocket.log`;
  await Deno.writeTextFile(log, numbered(0, 100));
  await capture(db, dir.path, log);
  const whole = await verify(db, dir.path, log);
  assert.equal(whole.code, 0, JSON.stringify(whole.report));
  assert.equal(whole.report.files[0].storedOnce, (await Deno.stat(log)).size);
  const human = await run("capture", ["verify", ...captureArgs(db, dir.path, log)]);
  assert.match(human.stdout, /complete: every byte captured so far is in CouchDB once/);

  // A document deleted by hand: its range is missing, named with its first line.
  const docs = await feedDocs(db);
  assert.equal(docs.length, 5);
  const gone = docs[2] as unknown as {
    _id: string;
    _rev: string;
    source: { start: number; end: number };
  };
  await deleteByHand(db, gone);
  const missing = await verify(db, dir.path, log);
  assert.equal(missing.code, 1);
  assert.deepEqual(
    missing.report.files[0].missing.map((r: { start: number; end: number }) => [r.start, r.end]),
    [[gone.source.start, gone.source.end]],
  );
  assert.match(missing.report.files[0].missing[0].firstLine, /V\.1\.40 /);
  const said = await run("capture", ["verify", ...captureArgs(db, dir.path, log)]);
  assert.match(
    said.stdout,
    new RegExp(`missing: .*spysocket\\.log bytes ${gone.source.start}-${gone.source.end}`),
  );

  // Stored twice under another id (another generation's number), and a foreign document.
  const copy = { ...docs[0], _id: "feed:t:7:0000000000000000" } as Record<string, unknown>;
  delete copy._rev;
  delete copy._attachments;
  delete copy.csv;
  for (const doc of [copy, { _id: "feed:t:0:9999999999999999", note: "someone else's" }]) {
    const put = await fetch(`${db}/${encodeURIComponent(doc._id as string)}`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(doc),
    });
    assert.ok(put.ok, await put.text());
  }
  const broken = await verify(db, dir.path, log);
  const first = docs[0] as unknown as { source: { start: number; end: number } };
  assert.deepEqual(
    broken.report.files[0].doubled.map((r: { start: number; end: number }) => [r.start, r.end]),
    [[first.source.start, first.source.end]],
  );
  assert.deepEqual(broken.report.foreign, ["feed:t:0:9999999999999999"]);
});

test("verify: what is past the cache file's position, and a partial last line, are not yet captured, not missing", async () => {
  await using dir = await tempDir();
  const db = freshDb("verify_pending");
  const log = `${dir.path}/spysocket.log`;
  await Deno.writeTextFile(log, numbered(0, 30));
  await capture(db, dir.path, log);
  const size = (await Deno.stat(log)).size;
  await append(log, numbered(30, 40) + "07:04:42 02/15 partial");
  const { code, report } = await verify(db, dir.path, log);
  assert.equal(code, 0, JSON.stringify(report));
  assert.equal(report.files[0].pending, (await Deno.stat(log)).size - size);
});

test("verify: rotated files, one compressed, are each complete by their text; records mode names a line gone", async () => {
  await using dir = await tempDir();
  const db = freshDb("verify_rotated");
  const log = `${dir.path}/spysocket.log`;
  await Deno.writeTextFile(log, numbered(0, 50));
  await capture(db, dir.path, log, "--mode", "records");
  // Rotated and compressed (delaycompress off), then a new file.
  await Deno.writeFile(`${log}.1.gz`, gzipSync(await Deno.readFile(log)));
  await Deno.remove(log);
  await Deno.writeTextFile(log, numbered(50, 80));
  await capture(db, dir.path, log, "--mode", "records");
  const recheck = await verify(db, dir.path, log, "--mode", "records");
  const report = recheck.report;
  assert.equal(recheck.code, 0, JSON.stringify(report));
  assert.deepEqual(report.files.map((f: { name: string }) => f.name.split("/").pop()), [
    "spysocket.log",
    "spysocket.log.1.gz",
  ]);
  // One line's document deleted: exactly that line is missing.
  const records = await recordDocs(db);
  const victim = records.find((r) => r.generation === 0 && r.line_offset !== 0)! as {
    _id: string;
    _rev: string;
    line_offset: number;
    line_end: number;
  };
  await deleteByHand(db, victim);
  const broken = await verify(db, dir.path, log, "--mode", "records");
  assert.equal(broken.code, 1);
  const gz = broken.report.files.find((f: { name: string }) => f.name.endsWith(".gz"));
  assert.deepEqual(gz.missing.map((r: { start: number; end: number }) => [r.start, r.end]), [[
    victim.line_offset,
    victim.line_end,
  ]]);
});

test("verify keeps its result beside the cache file, and a running capture's /metrics shows it", async () => {
  await using dir = await tempDir();
  const db = freshDb("verify_metrics");
  const log = `${dir.path}/spysocket.log`;
  await Deno.writeTextFile(log, numbered(0, 100));
  await capture(db, dir.path, log);
  const docs = await feedDocs(db);
  const gone = docs[1] as unknown as {
    _id: string;
    _rev: string;
    source: { start: number; end: number };
  };
  await deleteByHand(db, gone);
  assert.equal((await verify(db, dir.path, log)).code, 1);
  const port = freePortForTest();
  await using running = new Running(
    "capture",
    captureArgs(db, dir.path, "--status-listen", `127.0.0.1:${port}`, log),
  );
  await running.waitFor(/capturing/);
  const missing = gone.source.end - gone.source.start;
  await until(
    async () => await readMetric(port, "capture", "verify_bytes_missing") === missing,
    20_000,
    `verify_bytes_missing ${missing}`,
  );
  assert.ok(await readMetric(port, "capture", "verify_last_timestamp_seconds") > 0);
  assert.equal(await readMetric(port, "capture", "verify_bytes_doubled"), 0);
});

test("verify --deep: a CSV attachment edited by hand is named, with the line that differs; without --deep it is not looked at", async () => {
  await using dir = await tempDir();
  const db = freshDb("verify_deep");
  const log = `${dir.path}/spysocket.log`;
  await Deno.writeTextFile(log, numbered(0, 60) + "not a report\n");
  await capture(db, dir.path, log);
  const deep = () => verify(db, dir.path, log, "--deep");
  assert.equal((await deep()).code, 0, "formatted again, every document is what its range gives");
  const docs = await feedDocs(db);
  const doc = docs[1] as unknown as { _id: string; _rev: string; csv: string[] };
  const edited = [
    "Date,Time,Vehicle,Lat,Lon,Location Valid/Invalid,Adherence,Adherence Valid/Invalid,Route,Direction,Stop",
    ...doc.csv,
  ];
  edited[3] = edited[3].replace("V.1.", "V.9.");
  const put = await fetch(`${db}/${encodeURIComponent(doc._id)}/feed?rev=${doc._rev}`, {
    method: "PUT",
    headers: { "Content-Type": "text/csv" },
    body: edited.join("\n") + "\n",
  });
  assert.ok(put.ok, await put.text());
  assert.equal((await verify(db, dir.path, log)).code, 0, "ranges alone do not see an edit");
  const { code, report } = await deep();
  assert.equal(code, 1);
  assert.equal(report.differences.length, 1);
  assert.equal(report.differences[0].id, doc._id);
  assert.match(
    report.differences[0].what,
    /^CSV line 3 is ".*V\.9\..*", the log gives ".*V\.1\..*"$/,
  );
});

test("tail-only: capture verify --manifest describes the log where CouchDB cannot be reached; monitor verify --manifest checks it, and names a range gone", async () => {
  await using dir = await tempDir();
  const db = freshDb("verify_manifest");
  const { log, drop, tail } = await extractedTailOnly(dir.path);
  const stored = await run("monitor", ["--couchdb", db, "--year", "2012", "--once", drop]);
  assert.equal(stored.code, 0, stored.stderr);
  const manifest = `${dir.path}/spysocket.manifest.json`;
  const wrote = await run("capture", ["verify", "--manifest", manifest, ...tail, log]);
  assert.equal(wrote.code, 0, wrote.stderr);
  assert.ok((await Deno.stat(manifest)).size < 4096, "kilobytes");
  const check = () => verifyRun("monitor", "--manifest", manifest, "--couchdb", db, drop);
  const whole = await check();
  assert.equal(whole.code, 0, JSON.stringify(whole.report));
  assert.equal(whole.report.files[0].storedOnce, (await Deno.stat(log)).size);
  assert.deepEqual(whole.report.dropDirectory, { waiting: 0, rejected: 0, kept: 5 });
  const gone = (await feedDocs(db))[3] as unknown as {
    _id: string;
    _rev: string;
    source: { start: number; end: number };
  };
  await deleteByHand(db, gone);
  const broken = await check();
  assert.equal(broken.code, 1);
  assert.deepEqual(
    broken.report.files[0].missing.map((r: { start: number; end: number }) => [r.start, r.end]),
    [[gone.source.start, gone.source.end]],
  );
});

test("verify --since: a generation (and offset) or a duration leaves out what came before, and reads no document of it", async () => {
  await using dir = await tempDir();
  const db = freshDb("verify_since");
  const log = `${dir.path}/spysocket.log`;
  await Deno.writeTextFile(log, numbered(0, 60));
  await capture(db, dir.path, log);
  // Rotated two days ago; a new file since.
  await Deno.rename(log, `${log}.1`);
  const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
  await Deno.utime(`${log}.1`, twoDaysAgo, twoDaysAgo);
  await Deno.writeTextFile(log, numbered(60, 100));
  await capture(db, dir.path, log);
  const gone = (await feedDocs(db)).filter((d) => d._id.startsWith("feed:t:0:"))[1] as unknown as {
    _id: string;
    _rev: string;
    source: { start: number; end: number };
  };
  await deleteByHand(db, gone);
  const since = (...extra: string[]) => verify(db, dir.path, log, ...extra);
  const all = await since();
  assert.equal(all.code, 1, "the whole log: the range deleted is missing");
  for (const when of ["1", "1h"]) {
    const recent = await since("--since", when);
    assert.equal(recent.code, 0, `--since ${when}: ${JSON.stringify(recent.report)}`);
    assert.deepEqual(recent.report.files.map((f: { name: string }) => f.name), [log]);
    assert.deepEqual(recent.report.skipped, [`${log}.1`]);
    assert.equal(recent.report.documents, 2, "only the new file's documents are read");
  }
  const fromOffset = await since("--since", `0:${gone.source.end}`);
  assert.equal(fromOffset.code, 0, JSON.stringify(fromOffset.report));
  const rotated = fromOffset.report.files.find((f: { name: string }) => f.name === `${log}.1`);
  assert.equal(rotated.storedOnce, (await Deno.stat(`${log}.1`)).size - gone.source.end);
  const before = await since("--since", `0:${gone.source.start}`);
  assert.equal(before.code, 1);
  const bad = await run("capture", [
    "verify",
    "--since",
    "soon",
    ...captureArgs(db, dir.path, log),
  ]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--since soon is not a duration/);
});

test("verify --deep in records mode: a document edited by hand is named with the member that differs", async () => {
  await using dir = await tempDir();
  const db = freshDb("verify_deep_records");
  const log = `${dir.path}/spysocket.log`;
  await Deno.writeTextFile(log, numbered(0, 30) + "not a report\n");
  await capture(db, dir.path, log, "--mode", "records");
  const deep = () => verify(db, dir.path, log, "--deep", "--mode", "records");
  assert.equal((await deep()).code, 0, "formatted again, every document is what its line gives");
  const records = await recordDocs(db);
  const edited = records.find((r) => r.line_offset !== 0 && r.vehicle)! as Record<string, unknown>;
  const rejected = records.find((r) => r.doc_type === "Rejected")! as Record<string, unknown>;
  const edits: Record<string, unknown>[] = [
    { ...edited, lat: 1.5 },
    { ...rejected, raw: "not a report either" },
  ];
  for (const doc of edits) {
    const put = await fetch(`${db}/${encodeURIComponent(doc._id as string)}`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(doc),
    });
    assert.ok(put.ok, await put.text());
  }
  const { code, report } = await deep();
  assert.equal(code, 1);
  const whats = Object.fromEntries(
    report.differences.map((d: { id: string; what: string }) => [d.id, d.what]),
  );
  assert.match(whats[edited._id as string], /^lat is 1\.5, the log gives [0-9.]+$/);
  assert.match(
    whats[rejected._id as string],
    /^raw is "not a report either", the log gives "not a report"$/,
  );
});

test("tail-only: capture verify hands its manifest over (drop directory, or the receiver); monitor verify DIR finds it, and counts extracts still waiting as not yet captured", async () => {
  await using dir = await tempDir();
  const db = freshDb("verify_handover");
  const { log, drop, tail } = await extractedTailOnly(dir.path);
  const handed = await run("capture", ["verify", ...tail, "--extract-dir", drop, log]);
  assert.equal(handed.code, 0, handed.stderr);
  assert.match(handed.stdout, /handed 1 files of t/);
  const check = () => verifyRun("monitor", "--couchdb", db, drop);
  // Nothing stored yet: every range is in an extract waiting, not missing.
  const created = await fetch(db, { method: "PUT" });
  assert.ok(created.ok, await created.text());
  const waiting = await check();
  assert.equal(waiting.code, 0, JSON.stringify(waiting.report));
  assert.equal(waiting.report.files[0].pending, (await Deno.stat(log)).size);
  assert.equal(waiting.report.dropDirectory.waiting, 5);
  const stored = await run("monitor", ["--couchdb", db, "--year", "2012", "--once", drop]);
  assert.equal(stored.code, 0, stored.stderr);
  const whole = await check();
  assert.equal(whole.code, 0, JSON.stringify(whole.report));
  assert.equal(whole.report.files[0].storedOnce, (await Deno.stat(log)).size);

  // Over HTTPS's route (plain HTTP on loopback here): the receiver puts it in manifests/.
  await Deno.remove(`${drop}/manifests`, { recursive: true });
  const receiving = await receivingMonitor(dir.path, drop, db);
  await using _receiver = receiving.monitor;
  const shipped = await run("capture", [
    "verify",
    ...tail,
    "--ship-to",
    receiving.url,
    "--token-file",
    receiving.tokenFile,
    log,
  ]);
  assert.equal(shipped.code, 0, shipped.stderr);
  assert.equal((await check()).code, 0);
  assert.equal(JSON.parse(await Deno.readTextFile(`${drop}/manifests/t.json`)).source, "t");
});

test("verify rides out a transient fault mid-sweep (a page's answer cut off): it retries, and says complete", async () => {
  await using dir = await tempDir();
  const db = freshDb("verify_fault");
  const log = `${dir.path}/spysocket.log`;
  await Deno.writeTextFile(log, numbered(0, 100));
  await capture(db, dir.path, log);
  // The first read of the documents loses its answer mid-way, as a flaky network would.
  let cut = 0;
  await using proxy = new FaultProxy(
    serverUrl(),
    (request) => request.url.includes("_all_docs") && !cut++ ? "reset-mid-body" : "none",
  );
  const { code, report } = await verify(proxy.urlFor(db), dir.path, log);
  assert.equal(proxy.injected["reset-mid-body"], 1, "the fault was met");
  assert.equal(code, 0, JSON.stringify(report));
  assert.equal(report.files[0].storedOnce, (await Deno.stat(log)).size);
});
