/**
 * Defaults that do not flood CouchDB or the second host's disk (issue 21): a feed at 100 lines a
 * second makes about one document a second, not twenty; records mode keeps its low latency.
 * Through the real programs, with a writer at a steady rate (tests/log_daemon.ts).
 */
import assert from "node:assert/strict";
import { feedDocs, freshDb, Running, tempDir, test, until } from "./helpers.ts";

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
  const writer = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./log_daemon.ts", import.meta.url).pathname,
      "--log",
      log,
      "--from",
      "0",
      "--to",
      "600",
      "--rate",
      "100",
    ],
    stdout: "null",
  }).spawn();
  assert.equal((await writer.status).code, 0);
  const rows = async () => (await feedDocs(db)).reduce((n, d) => n + d.rows, 0);
  await until(async () => await rows() === 600, 20_000, "600 rows");
  const documents = (await feedDocs(db)).length;
  console.log(`600 lines written over 6 s: ${documents} feed documents`);
  // One a second over 6 s, and a partial one at each end; the 50 ms of before made over 100.
  assert.ok(documents <= 9, `${documents} documents`);
});
