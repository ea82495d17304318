/**
 * 9. A three-node cluster: capture's feed and records catch-up into Apache CouchDB nodes joined as
 * one cluster (three copies of each shard), beside the raw loaders of the same documents into the
 * same cluster, as multipart (what capture sends while every node is up) and as JSON (what it
 * sends otherwise). Skipped, with the reason, where no CouchDB release is at hand.
 * @module
 */
import { couchdbScripts, startCluster } from "../../tools/real_couchdb.ts";
import { num, show } from "../measure.ts";
import type { Bench, Section } from "../bench.ts";
import { captureCost, rawFeedLoader, rawLoader, recordsBodies } from "./catch_up.ts";

const SECTION = "9. A three-node cluster";

async function cluster(bench: Bench): Promise<void> {
  console.error("9. a three-node cluster");
  if (!couchdbScripts()) {
    bench.add(SECTION, "feed and records catch-up", "n/a: no Apache CouchDB release here", "");
    return;
  }
  await using nodes = await startCluster(3);
  let made = 0;
  // Any node answers for the whole cluster; the databases go with it.
  const freshDb = () => `${nodes.urls[made % 3]}/bench_cluster_${made++}`;
  const feedLog = await bench.simulatedLog(bench.sizes.feed);
  const feed = await captureCost(bench, "feed", feedLog, bench.sizes.feed, freshDb);
  const json = await rawFeedLoader(bench, feedLog, bench.sizes.feed, 2, freshDb, "json");
  const multipart = await rawFeedLoader(bench, feedLog, bench.sizes.feed, 2, freshDb, "multipart");
  bench.add(
    SECTION,
    `capture, feed mode, ${
      num(bench.sizes.feed)
    } backlog lines (an admin URL: multipart while _membership shows every node up)`,
    `${show(feed.rate, 0, "lines/s")}; ${num(feed.cpu.median, 2)} CPU-s per million lines`,
    `${
      num((feed.rate.median / multipart.median) * 100)
    }% of the raw loader of the same documents (multipart). Target ≥ 50%`,
  );
  bench.add(
    SECTION,
    "(f) raw loader into the cluster, two in flight: capture's feed documents as multipart with gzip CSV / as JSON with base64 CSV (what a member, who cannot read _membership, sends)",
    `${show(multipart, 0, "lines/s")} / ${show(json, 0, "lines/s")}`,
    "the cluster's limit for these documents",
  );
  const serverLog = await bench.simulatedLog(bench.sizes.server);
  const records = await captureCost(bench, "records", serverLog, bench.sizes.server, freshDb);
  const ours = await rawLoader(bench, serverLog, bench.sizes.server, recordsBodies, freshDb);
  bench.add(
    SECTION,
    `capture, records mode, ${num(bench.sizes.server)} lines (one document each)`,
    `${show(records.rate, 0, "docs/s")}; ${num(records.cpu.median, 2)} CPU-s per million lines`,
    `${num((records.rate.median / ours.median) * 100)}% of the raw loader of the same documents (${
      show(ours, 0, "docs/s")
    }). Target ≥ 50%`,
  );
}

/** The cluster section: the rows it adds. */
export const clusterSection: Section = {
  name: "cluster",
  run: (bench) => bench.rowsOf(() => cluster(bench)),
};
