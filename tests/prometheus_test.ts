/**
 * Lag and loss you can alert on (issue 21): `bytes_behind` and the age of the oldest unacknowledged
 * line stay true during an outage; `/metrics` passes `promtool check metrics`; the shipped rules
 * (deploy/prometheus/) pass `promtool check rules` and their own `promtool test rules`; and a real
 * Prometheus server scraping a running capture fires the lag alert during a CouchDB outage and
 * resolves it after. Debian's `prometheus` package brings both; without it those cases skip, saying
 * so.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  append,
  captureArgs,
  freePortForTest,
  freshDb,
  hasCommand,
  numbered,
  Proxy,
  ROOT,
  Running,
  serverUrl,
  tempDir,
  test,
  until,
} from "./helpers.ts";

const PROMTOOL = await hasCommand("promtool");
const PROMETHEUS = await hasCommand("prometheus");
if (!PROMTOOL || !PROMETHEUS) {
  console.log(
    "prometheus_test: promtool or prometheus is not installed (apt-get install prometheus): its cases that need them skip",
  );
}
const RULES = join(ROOT, "deploy", "prometheus");

async function metricsOf(port: number): Promise<string> {
  // Nothing yet while the program starts.
  const response = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => null);
  return response ? await response.text() : "";
}

function metric(text: string, name: string): number {
  return Number(new RegExp(`^logcapture_capture_${name} (\\S+)$`, "m").exec(text)?.[1]);
}

test(
  "the shipped alert rules pass promtool check rules and their own promtool test rules",
  async () => {
    for (
      const args of [
        ["check", "rules", "logcapture.rules.yml"],
        ["test", "rules", "logcapture.rules.test.yml"],
      ]
    ) {
      const out = await new Deno.Command("promtool", { args, cwd: RULES }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.ok(out.success, `promtool ${args.join(" ")}:\n${text}`);
      assert.match(text, /SUCCESS/);
    }
  },
  { ignore: !PROMTOOL },
);

test("during a CouchDB outage bytes_behind and the oldest unacknowledged line grow, failed attempts count, and /metrics passes promtool check metrics", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const db = freshDb("lagmetrics");
  await using proxy = new Proxy(serverUrl());
  await append(log, numbered(0, 100));
  const port = freePortForTest();
  await using _capture = new Running(
    "capture",
    captureArgs(proxy.urlFor(db), dir.path, "--status-listen", `127.0.0.1:${port}`, log),
  );
  await until(async () => metric(await metricsOf(port), "rows_pushed_total") === 100);
  await until(async () => metric(await metricsOf(port), "bytes_behind") === 0);
  proxy.down();
  await append(log, numbered(100, 2100));
  const size = (await Deno.stat(log)).size;
  const acked = JSON.parse(await Deno.readTextFile(`${dir.path}/cache.json`)).offset;
  await until(
    async () => metric(await metricsOf(port), "bytes_behind") === size - acked,
    20_000,
    `bytes_behind ${size - acked} during the outage`,
  );
  await until(
    async () => metric(await metricsOf(port), "oldest_unacknowledged_seconds") >= 2,
    20_000,
    "the oldest unacknowledged line growing older",
  );
  const during = await metricsOf(port);
  assert.ok(metric(during, "attempts_failed_total") > 0, during);
  assert.ok(metric(during, "last_ack_timestamp_seconds") > 0);
  assert.equal(metric(during, "healthy"), 0);
  if (PROMTOOL) {
    const check = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = check.stdin.getWriter();
    await writer.write(new TextEncoder().encode(during));
    await writer.close();
    const out = await check.output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.ok(out.success, text);
    assert.equal(text.trim(), "", `promtool check metrics has remarks:\n${text}`);
  }
  proxy.up();
  await until(async () => metric(await metricsOf(port), "bytes_behind") === 0, 30_000, "caught up");
  assert.equal(metric(await metricsOf(port), "oldest_unacknowledged_seconds"), 0);
});

test(
  "a real Prometheus scraping capture fires the lag alert during a CouchDB outage, and resolves it after",
  async () => {
    await using dir = await tempDir();
    const log = `${dir.path}/spysocket.log`;
    const db = freshDb("promalert");
    await using proxy = new Proxy(serverUrl());
    await append(log, numbered(0, 10));
    const port = freePortForTest();
    await using _capture = new Running(
      "capture",
      captureArgs(proxy.urlFor(db), dir.path, "--status-listen", `127.0.0.1:${port}`, log),
    );
    await until(async () => metric(await metricsOf(port), "rows_pushed_total") === 10);
    // The shipped rules, with the lag threshold and its wait cut to seconds for the test.
    const rules = (await Deno.readTextFile(join(RULES, "logcapture.rules.yml")))
      .replace(
        "logcapture_capture_oldest_unacknowledged_seconds > 300\n        for: 5m",
        "logcapture_capture_oldest_unacknowledged_seconds > 3\n        for: 1s",
      );
    assert.match(rules, /oldest_unacknowledged_seconds > 3\n\s+for: 1s/);
    await Deno.writeTextFile(`${dir.path}/rules.yml`, rules);
    await Deno.writeTextFile(
      `${dir.path}/prometheus.yml`,
      [
        "global: { scrape_interval: 1s, evaluation_interval: 1s }",
        "rule_files: [rules.yml]",
        "scrape_configs:",
        "  - job_name: logcapture",
        `    static_configs: [{ targets: ["127.0.0.1:${port}"] }]`,
      ].join("\n") + "\n",
    );
    const promPort = freePortForTest();
    const prometheus = new Deno.Command("prometheus", {
      args: [
        `--config.file=${dir.path}/prometheus.yml`,
        `--storage.tsdb.path=${dir.path}/data`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      cwd: dir.path,
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const alerts = async () => {
        const response = await fetch(`http://127.0.0.1:${promPort}/api/v1/alerts`).catch(() =>
          null
        );
        if (!response?.ok) return [];
        const body = await response.json();
        return (body.data.alerts as { labels: { alertname: string }; state: string }[])
          .filter((a) => a.labels.alertname === "LogcaptureLagging");
      };
      await until(
        async () =>
          (await fetch(`http://127.0.0.1:${promPort}/-/ready`).catch(() => null))?.ok ?? false,
        30_000,
        "Prometheus ready",
      );
      proxy.down();
      await append(log, numbered(10, 20));
      await until(
        async () => (await alerts()).some((a) => a.state === "firing"),
        60_000,
        "LogcaptureLagging firing",
      );
      proxy.up();
      await until(async () => (await alerts()).length === 0, 60_000, "LogcaptureLagging resolved");
    } finally {
      prometheus.kill("SIGTERM");
      await prometheus.status;
    }
  },
  { ignore: !PROMETHEUS },
);
