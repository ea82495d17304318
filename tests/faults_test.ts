/**
 * A server whose answers break (`tools/fault_proxy.ts`): writes committed but their answers lost
 * or cut mid-body, reads answered with garbage or a truncated body. Each is a transient fault:
 * capture and the monitor retry, resolve the conflicts by reading what CouchDB holds, and never
 * stop; every line is stored once.
 */
import assert from "node:assert/strict";
import { type Fault, FaultProxy } from "../tools/fault_proxy.ts";
import {
  append,
  assertFeedOnce,
  assertRecordsOnce,
  feedEnd,
  freshDb,
  lineOffsets,
  recordDocs,
  Running,
  serverUrl,
  simulatedLines,
  tempDir,
  test,
  until,
} from "./helpers.ts";

const lines = simulatedLines(31);
const common = ["--year", "2012", "--source", "t", "--flush-ms", "50", "--poll-ms", "100"];

/** One write in four committed but its answer lost, one cut mid-answer; reads garbled in turn. */
function faultMix(request: Request, n: number): Fault {
  if (request.method === "GET") return (["none", "garbage", "truncated"] as const)[n % 3];
  return (["none", "lose-ack", "none", "reset-mid-body"] as const)[n % 4];
}

/** Appends `count` more lines while the program runs, in writes cut at random bytes. */
async function appendRagged(log: string, count: number): Promise<void> {
  const bytes = new TextEncoder().encode(lines(count));
  for (let at = 0; at < bytes.length;) {
    const next = Math.min(bytes.length, at + 1 + Math.floor(Math.random() * 8000));
    await append(log, bytes.subarray(at, next));
    at = next;
  }
}

/** Every kind of fault was met, so that the test says something. */
function assertFaultsMet(proxy: FaultProxy): void {
  for (const fault of ["lose-ack", "reset-mid-body", "garbage", "truncated"] as const) {
    assert.ok(proxy.injected[fault] > 0, `no ${fault} injected: ${JSON.stringify(proxy.injected)}`);
  }
}

/** Stops a program that must have run through every fault: SIGTERM, exit 0. */
async function assertRanThrough(program: Running): Promise<void> {
  program.kill("SIGTERM");
  const status = await program.done;
  assert.equal(status.code, 0, program.stderr);
}

for (const mode of ["feed", "records"]) {
  test(`capture (${mode}) through lost acknowledgements, cut answers, garbage and truncated bodies: never stops, every line once`, async () => {
    await using dir = await tempDir();
    const log = `${dir.path}/spysocket.log`;
    const db = freshDb("faults");
    await using proxy = new FaultProxy(serverUrl(), faultMix);
    await append(log, lines(1200));
    await using capture = new Running("capture", [
      ...common,
      ...["--couchdb", proxy.urlFor(db), "--cache", `${dir.path}/cache.json`, "--mode", mode],
      ...["--batch-lines", "200", log],
    ]);
    await until(() => proxy.injected["lose-ack"] >= 1, 30_000, "a lost acknowledgement");
    await appendRagged(log, 400);
    const bytes = await Deno.readFile(log);
    if (mode === "feed") {
      await until(async () => await feedEnd(db) === bytes.length, 60_000, "every line stored");
      await assertFeedOnce(db, bytes);
    } else {
      const expected = lineOffsets(bytes).length;
      await until(async () => (await recordDocs(db)).length >= expected, 60_000, "every line");
      await assertRecordsOnce(db, bytes);
    }
    assertFaultsMet(proxy);
    await assertRanThrough(capture);
  });
}

test("the monitor through the same faults: never stops, every line once", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const drop = `${dir.path}/drop`;
  await Deno.mkdir(drop);
  const db = freshDb("faultsmon");
  await using proxy = new FaultProxy(serverUrl(), faultMix);
  await append(log, lines(1200));
  await using tail = new Running("capture", [
    ...["-t", "Tail_Only", "--extract-dir", drop, "--cache", `${dir.path}/cache.json`],
    ...["--source", "t", "--flush-ms", "50", "--poll-ms", "100", "--batch-lines", "200", log],
  ]);
  await using monitor = new Running("monitor", [
    ...["--couchdb", proxy.urlFor(db), "--year", "2012", "--poll-ms", "100", drop],
  ]);
  await until(() => proxy.injected["lose-ack"] >= 1, 30_000, "a lost acknowledgement");
  await appendRagged(log, 400);
  const bytes = await Deno.readFile(log);
  await until(async () => await feedEnd(db) === bytes.length, 60_000, "every line stored");
  await assertFeedOnce(db, bytes);
  assertFaultsMet(proxy);
  await assertRanThrough(monitor);
  await assertRanThrough(tail);
});
