/**
 * The receiver client (`lib/sink/receiver_client.ts`, what tail-only capture ships extracts with)
 * against a small HTTP server on loopback: a busy or absent receiver is retried until it answers, a
 * refusal no retry mends is thrown at once, and the position of a file is read back.
 */
import assert from "node:assert/strict";
import { createLogger } from "../../lib/base/log.ts";
import { isPermanent } from "../../lib/base/errors.ts";
import { HandoverError, ReceiverClient } from "../../lib/sink/receiver_client.ts";

const quiet = createLogger({ level: "error" });

/** Serves `answer` on a free loopback port for the length of `fn`. */
async function withReceiver(
  answer: (request: Request) => Response | Promise<Response>,
  fn: (shipTo: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, answer);
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

Deno.test("a busy receiver (503) is asked again until it takes the extract", async () => {
  let asked = 0;
  await withReceiver(async (request) => {
    await request.arrayBuffer();
    return ++asked < 3 ? new Response("busy", { status: 503 }) : new Response("stored");
  }, async (shipTo) => {
    const client = new ReceiverClient({ shipTo, token: "t", log: quiet, timeoutMs: 5000 });
    await client.put("a.0.0000000000000000-0000000000000002.log", new TextEncoder().encode("a\n"));
  });
  assert.equal(asked, 3);
});

Deno.test("refusals no retry mends are thrown at once, as permanent: 401, 400, 409, 413", async () => {
  for (const status of [401, 400, 409, 413]) {
    let asked = 0;
    await withReceiver(async (request) => {
      await request.arrayBuffer();
      asked++;
      return new Response("no", { status });
    }, async (shipTo) => {
      const client = new ReceiverClient({ shipTo, token: "t", log: quiet });
      const error = await client.put("x", new Uint8Array(1)).then(() => null, (e) => e);
      assert.ok(error instanceof HandoverError, `${status}: ${error}`);
      assert.equal(error.status, status);
      assert.ok(isPermanent(error));
      if (status === 401) {
        assert.match(error.message, /refused the token \(401\): check --token-file/);
      }
      if (status === 413) {
        assert.match(error.message, /\(413\): no: lower --batch-bytes .* --max-extract-bytes/);
      }
    });
    assert.equal(asked, 1, `${status} was asked once`);
  }
});

Deno.test("a receiver that does not answer: retried for --retry-for, then an error naming it", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close(); // nothing listens there now
  const client = new ReceiverClient({
    shipTo: `http://127.0.0.1:${port}`,
    log: quiet,
    retryForMs: 600,
  });
  const started = Date.now();
  await assert.rejects(
    client.put("x", new Uint8Array(1)),
    new RegExp(
      `^Error: cannot reach the receiver at http://127\\.0\\.0\\.1:${port} for x: connection refused$`,
    ),
  );
  assert.ok(Date.now() - started >= 500, "retried for the time given");
});

Deno.test("the position of a file: read back, and null for a file the receiver holds nothing of", async () => {
  await withReceiver((request) => {
    const url = new URL(request.url);
    if (url.pathname === "/") return new Response("a receiver"); // the probe
    if (request.headers.get("Authorization") !== "Bearer t") {
      return new Response("", { status: 401 });
    }
    return url.searchParams.get("file") === "0123456789abcdef"
      ? Response.json({ generation: 2, offset: 4096 })
      : new Response("none", { status: 404 });
  }, async (shipTo) => {
    const client = new ReceiverClient({ shipTo, token: "t", log: quiet });
    assert.deepEqual(await client.position("avl1", { id: "0123456789abcdef" }), {
      generation: 2,
      offset: 4096,
    });
    assert.equal(await client.position("avl1", { id: "fedcba9876543210" }), null);
    assert.equal(await client.probe(), null);
  });
});

Deno.test("a receiver behind a path (--ship-to https://proxy/path): every request, the probe too, goes under it", async () => {
  const asked: string[] = [];
  await withReceiver((request) => {
    asked.push(new URL(request.url).pathname);
    return new Response("stored");
  }, async (shipTo) => {
    const client = new ReceiverClient({ shipTo: `${shipTo}/logcapture/`, token: "t", log: quiet });
    await client.put("avl1-0-0-9-f.csv", new Uint8Array(9));
    assert.equal(await client.probe(), null);
    assert.deepEqual(asked, ["/logcapture/extracts/avl1-0-0-9-f.csv", "/logcapture/"]);
  });
});
