/**
 * A three-node Apache CouchDB cluster, nodes killed mid-run: capture all-in-one in feed and in
 * records mode, and capture tail-only with the monitor, stay exact. Needs the CouchDB release
 * (`tools/real_couchdb.ts`); skipped elsewhere, saying why.
 */
import assert from "node:assert/strict";
import { couchdbScripts, startCluster } from "../tools/real_couchdb.ts";
import {
  assertFeedOnce,
  assertRecordsOnce,
  feedEnd,
  freePortForTest,
  lineOffsets,
  readMetric,
  recordDocs,
  Running,
  simulatedLines,
  startWriter,
  tempDir,
  until,
} from "./helpers.ts";

const scripts = couchdbScripts();
if (!scripts) {
  console.error(
    "skipping the cluster test: it starts Apache CouchDB nodes from a release, and there is none " +
      "here (set LOGCAPTURE_COUCHDB_SCRIPTS to a folder with its start and cluster scripts)",
  );
}

const lines = simulatedLines(23);
const common = ["--year", "2012", "--source", "t", "--flush-ms", "100", "--poll-ms", "100"];

Deno.test({
  name:
    "a three-node cluster: two nodes killed (202 Accepted, counted), then the node capture talks to; every line once, read through another node",
  ignore: !scripts,
  async fn() {
    await using cluster = await startCluster(3);
    await using dir = await tempDir();
    const log = `${dir.path}/spysocket.log`;
    const drop = `${dir.path}/drop`;
    await Deno.mkdir(drop);
    await Deno.writeTextFile(log, lines(300));
    // Every program talks to node 1; what they stored is read back through node 2.
    const [node1, node2] = cluster.urls;
    const dbs = {
      feed: "lc_cluster_feed",
      records: "lc_cluster_records",
      monitor: "lc_cluster_mon",
    };
    const ports = {
      feed: freePortForTest(),
      records: freePortForTest(),
      monitor: freePortForTest(),
    };
    const status = (port: number) => ["--status-listen", `127.0.0.1:${port}`];
    await using feed = new Running("capture", [
      ...common,
      ...["--couchdb", `${node1}/${dbs.feed}`, "--cache", `${dir.path}/feed.json`],
      ...status(ports.feed),
      log,
    ]);
    await using records = new Running("capture", [
      ...common,
      ...["--couchdb", `${node1}/${dbs.records}`, "--cache", `${dir.path}/records.json`],
      ...["--mode", "records", ...status(ports.records)],
      log,
    ]);
    await using tail = new Running("capture", [
      ...["-t", "Tail_Only", "--extract-dir", drop, "--cache", `${dir.path}/tail.json`],
      ...["--source", "t", "--flush-ms", "100", "--poll-ms", "100"],
      log,
    ]);
    await using monitor = new Running("monitor", [
      ...["--couchdb", `${node1}/${dbs.monitor}`, "--year", "2012", "--poll-ms", "100"],
      ...status(ports.monitor),
      drop,
    ]);
    const programs = [feed, records, tail, monitor];
    const writer = startWriter(log, lines, true);
    try {
      const stored = async () =>
        await feedEnd(`${node1}/${dbs.feed}`) > 0 &&
        (await recordDocs(`${node1}/${dbs.records}`)).length > 0 &&
        await feedEnd(`${node1}/${dbs.monitor}`) > 0;
      await until(stored, 30_000, "the first batches in the cluster");

      // Two of three nodes down: one copy written, below the write quorum of two. CouchDB answers
      // 202 Accepted; the programs count it as stored, and say so.
      await cluster.kill(2);
      await cluster.kill(3);
      const belowQuorum = (port: number, program: "capture" | "monitor") => async () =>
        await readMetric(port, program, "writes_below_quorum_total") > 0;
      await until(belowQuorum(ports.feed, "capture"), 30_000, "a 202 counted by capture (feed)");
      await until(belowQuorum(ports.records, "capture"), 30_000, "a 202 counted (records)");
      await until(belowQuorum(ports.monitor, "monitor"), 30_000, "a 202 counted by the monitor");
      for (const program of [feed, records, monitor]) {
        await program.waitFor(/fewer copies than its write quorum \(202 Accepted\)/);
      }
      await cluster.restart();

      // The node the programs talk to dies: they retry until it is back.
      const from = feed.stderr.length;
      await cluster.kill(1);
      await feed.waitFor(/cannot reach CouchDB.*retrying/, 30_000, from);
      await cluster.restart();
      await feed.waitFor(/answers again/, 60_000, from);
    } finally {
      await writer.stop();
    }
    const bytes = await Deno.readFile(log);
    const expected = lineOffsets(bytes).length;
    // Node 2 was down while node 1 took writes alone: wait for the cluster's own replication to
    // bring it the missing copies, then check through it.
    await until(
      async () =>
        await feedEnd(`${node2}/${dbs.feed}`) === bytes.length &&
        (await recordDocs(`${node2}/${dbs.records}`)).length >= expected &&
        await feedEnd(`${node2}/${dbs.monitor}`) === bytes.length,
      120_000,
      "every line readable through node 2",
    );
    await assertFeedOnce(`${node2}/${dbs.feed}`, bytes);
    await assertRecordsOnce(`${node2}/${dbs.records}`, bytes);
    await assertFeedOnce(`${node2}/${dbs.monitor}`, bytes);
    // Nothing was fatal: every program ran through both faults.
    for (const program of programs) assert.doesNotMatch(program.stderr, / ERROR /);
  },
});
