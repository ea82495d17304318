/**
 * Secrets handled as an operator expects (issue 21): a password or token file others may read is
 * warned of, as ssh does; a plain-HTTP receiver on an address other hosts reach is warned of; a
 * refused token is logged with the client's address (rate-limited) and counted. Real programs.
 */
import assert from "node:assert/strict";
import {
  append,
  captureArgs,
  freePortForTest,
  freshDb,
  numberedLine,
  run,
  Running,
  tempDir,
  test,
  until,
} from "./helpers.ts";

test("a password file that others may read is warned of (a token file is read the same way), with the chmod that mends it", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  await append(log, numberedLine(1));
  const passwordFile = `${dir.path}/password`;
  await Deno.writeTextFile(passwordFile, "not-the-real-one\n", { mode: 0o644 });
  await Deno.chmod(passwordFile, 0o644);
  const db = freshDb("secretmode");
  // The password is wrong on purpose: the warning comes when the file is read, before any request.
  const config = `${dir.path}/capture.json`;
  await Deno.writeTextFile(config, JSON.stringify({ passwordFile }));
  const withFile = await run("capture", [
    "--config",
    config,
    ...captureArgs(db, dir.path, "--once", "--retry-for", "1s", log),
  ], { COUCHDB_USER: "nobody" });
  assert.match(
    withFile.stderr,
    new RegExp(
      `WARN .*passwordFile ${passwordFile} can be read by others than its owner \\(mode 0644\\): chmod 600 ${passwordFile}`,
    ),
  );
  assert.doesNotMatch(withFile.stderr, /not-the-real-one/);
  await Deno.chmod(passwordFile, 0o600);
  const quiet = await run("capture", [
    "--config",
    config,
    ...captureArgs(db, dir.path, "--once", "--retry-for", "1s", log),
  ], { COUCHDB_USER: "nobody" });
  assert.doesNotMatch(quiet.stderr, /can be read by others/);
});

test("a plain-HTTP receiver on an address other hosts reach is warned of; a wrong token is logged with the client's address and counted", async () => {
  await using dir = await tempDir();
  const drop = `${dir.path}/drop`;
  await Deno.mkdir(drop);
  const token = `${dir.path}/token`;
  await Deno.writeTextFile(token, "s3cret-token\n");
  await Deno.chmod(token, 0o600);
  const db = freshDb("tokenrefused");
  const port = freePortForTest();
  const statusPort = freePortForTest();
  await using monitor = new Running("monitor", [
    "--couchdb",
    db,
    "--listen",
    `0.0.0.0:${port}`,
    "--token-file",
    token,
    "--status-listen",
    `127.0.0.1:${statusPort}`,
    drop,
  ]);
  await monitor.waitFor(/receiving extracts/);
  assert.match(
    monitor.stderr,
    /WARN .*listens on 0\.0\.0\.0:\d+ over plain HTTP: the token and the extracts travel in clear/,
  );
  const put = (bearer: string) =>
    fetch(`http://127.0.0.1:${port}/extracts/t.0.0000000000000000-0000000000000002.log`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${bearer}` },
      body: "a\n",
    }).then(async (r) => (await r.body?.cancel(), r.status));
  assert.equal(await put("wrong"), 401);
  assert.equal(await put("wrong again"), 401);
  await monitor.waitFor(/WARN .*refused a missing or wrong token from 127\.0\.0\.1/);
  assert.equal(
    monitor.stderr.match(/refused a missing or wrong token/g)?.length,
    1,
    "rate-limited",
  );
  assert.doesNotMatch(monitor.stderr, /wrong again|s3cret-token/);
  await until(
    async () => {
      const text = await (await fetch(`http://127.0.0.1:${statusPort}/metrics`)).text();
      return /^logcapture_monitor_tokens_refused_total 2$/m.test(text);
    },
    10_000,
    "tokens_refused_total 2",
  );
});
