/**
 * `check`'s own logic (`lib/cli/check.ts`) without a server: the lines `runChecks` writes (✓, ✗
 * with the fix, ! warnings that do not fail, checks skipped after the one they stand on), and the
 * checks of local things on real files and ports. The CouchDB checks run against a real server in
 * tests/check_test.ts.
 */
import assert from "node:assert/strict";
import {
  type Check,
  CheckFailure,
  CheckWarning,
  dropDirectoryCheck,
  listenCheck,
  logCheck,
  pemFileCheck,
  receiverCheck,
  runChecks,
} from "../../lib/cli/check.ts";

async function linesOf(checks: Check[]): Promise<{ failures: number; lines: string[] }> {
  const lines: string[] = [];
  const failures = await runChecks(checks, (line) => lines.push(line));
  return { failures, lines };
}

Deno.test("runChecks: a line each; a failure names its fix; a warning does not fail; a check after a failed one is skipped", async () => {
  const { failures, lines } = await linesOf([
    { name: "server", run: () => Promise.reject(new CheckFailure("no answer", "start it")) },
    { name: "database", after: "server", run: () => Promise.resolve("never run") },
    { name: "database views", after: "database", run: () => Promise.resolve("never run") },
    {
      name: "logrotate",
      run: () =>
        Promise.reject(new CheckWarning([{ problem: "compresses with xz", fix: "use gzip" }])),
    },
    { name: "log", run: () => Promise.resolve("readable") },
    { name: "other", run: () => Promise.reject(new Error("plain error")) },
  ]);
  assert.equal(failures, 2);
  assert.deepEqual(lines, [
    "✗ server: no answer. Fix: start it",
    "- database: not checked (server failed)",
    "- database views: not checked (database failed)",
    "! logrotate: compresses with xz. Fix: use gzip",
    "✓ log: readable",
    "✗ other: plain error",
  ]);
});

Deno.test("the local checks on real files and ports", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.log`, "line\n");
    await Deno.writeTextFile(`${dir}/cert.pem`, "not pem");
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const taken = (listener.addr as Deno.NetAddr).port;
    const { failures, lines } = await linesOf([
      logCheck(`${dir}/a.log`),
      logCheck(`${dir}/later.log`),
      logCheck(`${dir}/no-such-folder/a.log`),
      dropDirectoryCheck(dir),
      dropDirectoryCheck(`${dir}/missing`),
      pemFileCheck("certificate", `${dir}/cert.pem`, "--tls-cert"),
      listenCheck("127.0.0.1", taken),
    ]);
    listener.close();
    assert.equal(failures, 4, lines.join("\n"));
    assert.match(lines[0], /^✓ log: .*a\.log is readable \(5 bytes\)$/);
    assert.match(lines[1], /^✓ log: .*later\.log does not exist yet; capture waits for it/);
    assert.match(
      lines[2],
      /^✗ log: .* does not exist, and its folder cannot be watched.*Fix: check the path/,
    );
    assert.match(lines[3], /^✓ drop directory: /);
    assert.match(lines[4], /^✗ drop directory: .* is not a directory\. Fix: create it: mkdir -p /);
    assert.match(
      lines[5],
      /^✗ certificate: .* holds no PEM block\. Fix: --tls-cert takes a PEM file$/,
    );
    assert.match(
      lines[6],
      /^✗ listen address: cannot listen on 127\.0\.0\.1:\d+: .*Fix: another program/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("receiverCheck: a 413 that is not the receiver's own (a proxy in front) is said as it came, with the fix", async () => {
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) =>
      request.method === "PUT"
        ? new Response("<html><h1>413 Request Entity Too Large</h1></html>", { status: 413 })
        : new Response("{}", { status: 404 }),
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  const { failures, lines } = await linesOf([receiverCheck(url, "t", undefined, 4 << 20)]);
  assert.equal(failures, 1);
  assert.match(
    lines[0],
    /^✗ receiver: .* refuses extracts of 4MiB \(413: <html><h1>413 Request Entity Too Large.*\)\. Fix: lower --batch-bytes/,
  );
});
