import assert from "node:assert/strict";
import { resolveOptions } from "../../lib/cli/config.ts";
import {
  batchBytesFor,
  batchLinesFor,
  CAPTURE_OPTIONS,
  flushMsFor,
  handoverTarget,
  MONITOR_OPTIONS,
  receiverSettings,
  retryForMsOf,
} from "../../lib/cli/options.ts";

const capture = async (...args: string[]) =>
  (await resolveOptions("capture", CAPTURE_OPTIONS, args)).options;
const monitor = async (...args: string[]) =>
  (await resolveOptions("monitor", MONITOR_OPTIONS, args)).options;

Deno.test("tail-only capture needs a drop directory or a receiver, and a receiver needs its token", async () => {
  const given1 = await capture("-t");
  assert.throws(() => handoverTarget(given1), /needs --extract-dir DIR or --ship-to URL/);
  const given2 = await capture("-t", "--ship-to", "https://m:8443");
  assert.throws(() => handoverTarget(given2), /--ship-to needs --token-file FILE/);
  assert.deepEqual(handoverTarget(await capture("-t", "--extract-dir", "/srv/drop")), {
    extractDir: "/srv/drop",
    ship: undefined,
  });
  assert.deepEqual(
    handoverTarget(await capture("-t", "--ship-to", "https://m:8443", "--token-file", "/t")),
    { extractDir: undefined, ship: { url: "https://m:8443", tokenFile: "/t" } },
  );
});

Deno.test("the receiver needs its token file, an address, and its TLS certificate and key together", async () => {
  assert.equal(receiverSettings(await monitor()), null);
  const given3 = await monitor("--listen", "0.0.0.0:8443");
  assert.throws(() => receiverSettings(given3), /--listen needs --token-file/);
  const given4 = await monitor("--listen", "8443", "--token-file", "t");
  assert.throws(() => receiverSettings(given4), /--listen must be HOST:PORT/);
  const given5 = await monitor("--tls-cert", "c.pem");
  assert.throws(() => receiverSettings(given5), /go together/);
  assert.deepEqual(
    receiverSettings(
      await monitor(
        "--listen",
        "[::1]:8443",
        "--token-file",
        "t",
        "--tls-cert",
        "c",
        "--tls-key",
        "k",
      ),
    ),
    { hostname: "::1", port: 8443, tokenFile: "t", tls: { certFile: "c", keyFile: "k" } },
  );
});

Deno.test("defaults that depend on other options: batch lines by mode, retry time by --once", async () => {
  assert.equal(batchLinesFor(await capture()), Infinity); // feed mode: cut by --batch-bytes alone
  assert.equal(batchLinesFor(await capture("--mode", "records")), 1000);
  assert.equal(batchLinesFor(await capture("--mode", "records", "--batch-lines", "7")), 7);
  assert.equal(retryForMsOf(await capture()), Infinity);
  assert.equal(retryForMsOf(await capture("--once")), 300_000);
  assert.equal(retryForMsOf(await capture("--once", "--retry-for", "30s")), 30_000);
  assert.equal(flushMsFor(await capture()), 1000);
  assert.equal(flushMsFor(await capture("--mode", "records")), 50);
  assert.equal(flushMsFor(await capture("--mode", "records", "--tail-only")), 1000);
  assert.equal(flushMsFor(await capture("--flush", "20ms")), 20);
  assert.equal(batchBytesFor(await capture()), 1 << 20);
  assert.equal(batchBytesFor(await capture("--mode", "records")), 1 << 20);
  assert.equal(batchBytesFor(await capture("--tail-only", "--extract-dir", "/d")), 4 << 20);
  assert.equal(batchBytesFor(await capture("--tail-only", "--batch-bytes", "1MiB")), 1 << 20);
});

Deno.test("the resolved options have the types of their table", async () => {
  const o = await capture("--flush", "100ms", "--batch-bytes", "2MiB", "--rotated", "/a.*");
  const flush: number | undefined = o.flush; // no default of its own: it depends on the mode
  const bytes: number | undefined = o.batchBytes; // no default of its own: it depends on the mode
  const rotated: string[] | undefined = o.rotated;
  const mode: "feed" | "records" = o.mode;
  assert.deepEqual([flush, bytes, rotated, mode], [100, 2 << 20, ["/a.*"], "feed"]);
});
