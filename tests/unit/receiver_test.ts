/**
 * The receiver's request handling in-process (issue 20 asks for it; issue 21's race is here): the
 * end-to-end receiver tests are in tests/twohost_test.ts.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { startReceiver, storedHash } from "../../lib/run/receiver.ts";
import { createLogger } from "../../lib/base/log.ts";

const NAME = "t.0.0000000000000000-0000000000000002.log";

Deno.test("an extract moved to done/ between the lookup and the hash is hashed all the same (it was a 500)", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/done`);
  await Deno.writeTextFile(`${dir}/${NAME}`, "a\n");
  // The monitor moves the extract just as the receiver goes to open it.
  const open = async (path: string) => {
    if (path === `${dir}/${NAME}`) await Deno.rename(path, `${dir}/done/${NAME}`);
    return await Deno.open(path);
  };
  const expected = createHash("sha256").update("a\n").digest("hex");
  assert.equal(await storedHash(dir, NAME, open), expected);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("an extract opened before it moves is hashed whole", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/done`);
  await Deno.writeTextFile(`${dir}/${NAME}`, "a\n");
  const open = async (path: string) => {
    const file = await Deno.open(path);
    await Deno.rename(path, `${dir}/done/${NAME}`).catch(() => {});
    return file;
  };
  const expected = createHash("sha256").update("a\n").digest("hex");
  assert.equal(await storedHash(dir, NAME, open), expected);
  assert.equal(await storedHash(dir, "x.0.0000000000000000-0000000000000002.log"), null);
  await Deno.remove(dir, { recursive: true });
});

/** A receiver on a free loopback port, its drop directory, and a way to send it requests. */
async function withReceiver(
  fn: (
    ask: (method: string, path: string, body?: string, token?: string) => Promise<number>,
    dir: string,
  ) => Promise<void>,
  options: Partial<Parameters<typeof startReceiver>[0]> = {},
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const stop = new AbortController();
  const server = startReceiver({
    dir,
    hostname: "127.0.0.1",
    port: 0,
    token: "right",
    maxExtractBytes: 64,
    log: createLogger({ level: "error" }),
    signal: stop.signal,
    ...options,
  });
  const ask = async (method: string, path: string, body?: string, token = "right") => {
    const response = await fetch(`http://127.0.0.1:${server.addr.port}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}` },
      body,
    });
    await response.body?.cancel();
    return response.status;
  };
  try {
    await fn(ask, dir);
  } finally {
    stop.abort();
    await server.finished;
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the receiver answers each request as its table says", async () => {
  await withReceiver(async (ask, dir) => {
    const put = (name: string, body: string, token?: string) =>
      ask("PUT", `/extracts/${encodeURIComponent(name)}`, body, token);
    assert.equal(await ask("GET", "/other"), 404);
    assert.equal(await ask("GET", `/extracts/${NAME}`), 405);
    assert.equal(await put(NAME, "a\n", "wrong"), 401);
    assert.equal(await put("../etc/passwd", "a\n"), 400, "not an extract name");
    assert.equal(await put(`.${NAME}`, "a\n"), 400, "a dot-file");
    assert.equal(await put("t.0.0000000000000000-0000000000000100.log", "a\n"), 413);
    assert.equal(await put(NAME, "abc\n"), 400, "another length than its range");
    assert.equal(await put(NAME, "ab"), 400, "not ending with a newline");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), [], "nothing written");
    assert.equal(await put(NAME, "a\n"), 201);
    assert.equal(await Deno.readTextFile(`${dir}/${NAME}`), "a\n");
    assert.equal(await put(NAME, "a\n"), 200, "the same bytes again");
    assert.equal(await put(NAME, "b\n"), 409, "other bytes under the name");
    assert.equal(await ask("GET", "/position?source=t&file=0123456789abcdef"), 404, "no locate");
  });
});

Deno.test("the receiver keeps a manifest of a log in manifests/, and refuses what is not one", async () => {
  await withReceiver(async (ask, dir) => {
    const manifest = { version: 1, source: "t", written: "2026-12-05T00:00:00Z", files: [] };
    const put = (name: string, body: unknown, token?: string) =>
      ask("PUT", `/manifests/${name}`, JSON.stringify(body), token);
    assert.equal(await put("t.json", manifest, "wrong"), 401);
    assert.equal(await put("..%2Ft.json", manifest), 400, "a path");
    assert.equal(await put("%E0%A4%A.json", manifest), 400, "not valid percent-encoding");
    assert.equal(await put("u.json", manifest), 400, "another source's name");
    assert.equal(await put("t.json", { version: 2 }), 400, "not a manifest");
    assert.equal(await put("t.json", { ...manifest, files: ["x".repeat(1 << 20)] }), 413);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), [], "nothing written");
    assert.equal(await put("t.json", manifest), 201);
    assert.equal(await put("t.json", { ...manifest, written: "2026-12-06T00:00:00Z" }), 201);
    const held = JSON.parse(await Deno.readTextFile(`${dir}/manifests/t.json`));
    assert.equal(held.written, "2026-12-06T00:00:00Z", "the newer replaces the older");
  });
});

Deno.test("the receiver answers 503 while the drop directory holds too much, and the position it is given", async () => {
  await withReceiver(async (ask) => {
    assert.equal(await ask("PUT", `/extracts/${NAME}`, "a\n"), 201);
    assert.equal(
      await ask("PUT", "/extracts/t.0.0000000000000002-0000000000000004.log", "b\n"),
      503,
    );
    assert.equal(await ask("GET", "/position?source=t&file=0123456789abcdef"), 200);
    assert.equal(await ask("GET", "/position?source=t&file=0123456789abcdef", undefined, "x"), 401);
  }, {
    maxPendingBytes: 2,
    locate: () => Promise.resolve({ generation: 0, offset: 2 }),
  });
});
