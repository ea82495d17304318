/** The small pieces of lib/base/ that the others stand on. */
import assert from "node:assert/strict";
import { backoffDelay, sleep } from "../../lib/base/backoff.ts";
import { parseProperties } from "../../lib/base/properties.ts";
import { redactUrl } from "../../lib/base/redact.ts";
import { readSecretFile } from "../../lib/base/secret.ts";
import { UsageError } from "../../lib/base/errors.ts";

Deno.test("backoff doubles from its base, is capped, and keeps 50-100% of each step (jitter)", () => {
  for (let attempt = 0; attempt < 40; attempt++) {
    const step = Math.min(30_000, 250 * 2 ** attempt);
    const delay = backoffDelay(attempt, 250, 30_000);
    assert.ok(delay >= step / 2 && delay <= step, `attempt ${attempt}: ${delay}`);
  }
});

Deno.test("sleep ends at its time, or at once when its signal aborts, before or during it", async () => {
  const before = new AbortController();
  before.abort();
  let started = performance.now();
  await sleep(60_000, before.signal);
  assert.ok(performance.now() - started < 1000);
  const during = new AbortController();
  started = performance.now();
  await Promise.all([sleep(60_000, during.signal), Promise.resolve().then(() => during.abort())]);
  assert.ok(performance.now() - started < 1000);
});

Deno.test("properties: separators, comments, escapes in keys, and a later key wins", () => {
  const props = parseProperties(
    "# comment\n! also a comment\n\na=1\nb: 2\nc 3\nsize./var/log/with\\:colon.log=4\na=5\r\n",
  );
  assert.deepEqual([...props], [
    ["a", "5"],
    ["b", "2"],
    ["c", "3"],
    ["size./var/log/with:colon.log", "4"],
  ]);
});

Deno.test("a URL's password never shows; its user and the rest do", () => {
  assert.equal(
    redactUrl("https://logcapture:p%40ss@couch:6984/db"),
    "https://logcapture:***@couch:6984/db",
  );
  assert.equal(redactUrl("http://user@couch/db"), "http://user@couch/db");
  assert.equal(
    redactUrl("cannot reach http://a:b@x:1 or http://c:d@y:2"),
    "cannot reach http://a:***@x:1 or http://c:***@y:2",
  );
});

Deno.test("a secret file: its one line, its line end dropped; a missing, empty or many-line one is a usage error naming the setting", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/token`, "abc\r\n");
  assert.equal(await readSecretFile(`${dir}/token`, "--token-file"), "abc");
  await Deno.writeTextFile(`${dir}/empty`, "\n");
  await assert.rejects(readSecretFile(`${dir}/empty`, "--token-file"), (e: Error) => {
    assert.ok(e instanceof UsageError);
    assert.match(e.message, /--token-file .*empty is empty/);
    return true;
  });
  await assert.rejects(readSecretFile(`${dir}/none`, "passwordFile"), /cannot read passwordFile/);
  // A second line would travel inside an HTTP header (the token), or be taken for the secret.
  await Deno.writeTextFile(`${dir}/two`, "abc\nX-Injected: 1\n");
  await assert.rejects(readSecretFile(`${dir}/two`, "--token-file"), (e: Error) => {
    assert.ok(e instanceof UsageError);
    assert.match(
      e.message,
      /--token-file .*two holds more than one line: keep the secret alone in it/,
    );
    assert.doesNotMatch(e.message, /abc|Injected/);
    return true;
  });
  await Deno.remove(dir, { recursive: true });
});
