/**
 * Defaults that do not flood CouchDB or the second host's disk (issue 21): a feed at 100 lines a
 * second makes about one document a second, not twenty; records mode keeps its low latency.
 * Through the real programs, with a writer at a steady rate (tests/log_daemon.ts).
 */
import assert from "node:assert/strict";
import { feedDocs, freshDb, logDaemon, run, Running, tempDir, test, until } from "./helpers.ts";

test("feed mode with default settings: about one document a second at 100 lines a second", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const db = freshDb("docrate");
  await Deno.writeTextFile(log, "");
  await using capture = new Running("capture", [
    "--couchdb",
    db,
    "--cache",
    `${dir.path}/cache.json`,
    "--year",
    "2012",
    log,
  ]);
  await capture.waitFor(/capturing/);
  const writer = logDaemon(log, ["--from", "0", "--to", "600", "--rate", "100"]);
  assert.equal((await writer.status).code, 0);
  const rows = async () => (await feedDocs(db)).reduce((n, d) => n + d.rows, 0);
  await until(async () => await rows() === 600, 20_000, "600 rows");
  const documents = (await feedDocs(db)).length;
  console.log(`600 lines written over 6 s: ${documents} feed documents`);
  // One a second over 6 s, and a partial one at each end; the 50 ms of before made over 100.
  assert.ok(documents <= 9, `${documents} documents`);
});

test("done/ has a retention by default: extracts older than 7 days go (the oldest first past its size), it is said at the start, and each removal logged", async () => {
  await using dir = await tempDir();
  const drop = `${dir.path}/drop`;
  await Deno.mkdir(`${drop}/done`, { recursive: true });
  const old = Date.now() / 1000 - 8 * 86_400;
  for (let i = 0; i < 3; i++) {
    const name = `${drop}/done/t.0.${String(i).padStart(16, "0")}-${
      String(i + 1).padStart(16, "0")
    }.log`;
    await Deno.writeTextFile(name, "\n");
    await Deno.utime(name, old, old);
  }
  await Deno.writeTextFile(`${drop}/done/t.0.0000000000000003-0000000000000004.log`, "\n");
  const db = freshDb("retention");
  const result = await run("monitor", ["--couchdb", db, "--once", drop]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /done="kept in .*\/done for 7d or 1GiB, whichever comes first"/);
  assert.match(result.stderr, /removed 3 stored extracts \(3 bytes\) from .*\/done/);
  assert.deepEqual([...Deno.readDirSync(`${drop}/done`)].map((e) => e.name), [
    "t.0.0000000000000003-0000000000000004.log",
  ]);
  // And by size: the oldest go first.
  const small = await run("monitor", ["--couchdb", db, "--once", "--done-max-bytes", "0", drop]);
  assert.equal(small.code, 0, small.stderr);
  assert.deepEqual([...Deno.readDirSync(`${drop}/done`)], []);
});
