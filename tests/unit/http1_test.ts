/**
 * The HTTP/1.1 client (`lib/sink/http1.ts`) against a scripted server on loopback that answers each
 * request with bytes the test chooses: connections kept and counted, every framing of an answer, a
 * connection the server closed while idle, a server that never answers, and answers that are not
 * HTTP or too long.
 */
import assert from "node:assert/strict";
import { networkReason } from "../../lib/base/errors.ts";
import { type Http1Answer, Http1Client, Http1ProtocolError } from "../../lib/sink/http1.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An answer's status and text, to compare whole. */
const seenAs = ({ status, text }: Http1Answer) => ({ status, text });

/** What the scripted server saw: connections accepted, and each request's head and body. */
interface Seen {
  connections: number;
  requests: { head: string; body: string; connection: number }[];
}

/**
 * A server that reads each request (its head, and a body of its Content-Length) and writes
 * `answer(index)` (the request's index): bytes, "close" to close without answering, "hang" to never
 * answer, or bytes and then the connection closed.
 */
async function withServer(
  answer: (
    index: number,
  ) => string | { bytes: string; thenClose: true } | { early: string } | "close" | "hang",
  fn: (origin: string, seen: Seen) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const seen: Seen = { connections: 0, requests: [] };
  const open = new Set<Deno.Conn>();
  const serving: Promise<void>[] = [];
  const serve = async (conn: Deno.Conn, connection: number) => {
    let pending = new Uint8Array(0);
    const chunk = new Uint8Array(1 << 16);
    const more = async () => {
      const n = await conn.read(chunk).catch(() => null);
      if (n === null) return false;
      const joined = new Uint8Array(pending.length + n);
      joined.set(pending);
      joined.set(chunk.subarray(0, n), pending.length);
      pending = joined;
      return true;
    };
    for (;;) {
      let end;
      while ((end = decoder.decode(pending).indexOf("\r\n\r\n")) < 0) {
        if (!await more()) return;
      }
      const head = decoder.decode(pending.subarray(0, end));
      const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
      const early = answer(seen.requests.length);
      if (typeof early === "object" && "early" in early) { // refused on its head: the body unread
        seen.requests.push({ head, body: "", connection });
        await conn.write(encoder.encode(early.early));
        return conn.close();
      }
      while (pending.length < end + 4 + length) if (!await more()) return;
      const body = decoder.decode(pending.subarray(end + 4, end + 4 + length));
      pending = pending.slice(end + 4 + length);
      const index = seen.requests.push({ head, body, connection }) - 1;
      const reply = answer(index);
      if (reply === "hang") return;
      if (reply === "close") return conn.close();
      if (typeof reply === "string") await conn.write(encoder.encode(reply));
      else if ("bytes" in reply) {
        return (await conn.write(encoder.encode(reply.bytes)), conn.close());
      }
    }
  };
  const accepting = (async () => {
    for await (const conn of listener) {
      open.add(conn);
      serving.push(serve(conn, ++seen.connections).catch(() => {}));
    }
  })();
  try {
    await fn(`http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`, seen);
  } finally {
    listener.close();
    await accepting;
    for (const conn of open) {
      try {
        conn.close();
      } catch { /* closed by the script */ }
    }
    await Promise.all(serving);
  }
}

const ok = (text: string) =>
  `HTTP/1.1 201 Created\r\nContent-Length: ${text.length}\r\n\r\n${text}`;

Deno.test("requests share one kept-alive connection, and carry Host, Content-Length and the body", async () => {
  await withServer((i) => ok(`stored ${i}`), async (origin, seen) => {
    const client = new Http1Client(origin);
    const body = encoder.encode("line one\nline two\n");
    for (let i = 0; i < 3; i++) {
      const answer = await client.request({
        method: "PUT",
        path: `/extracts/x${i}`,
        headers: { Authorization: "Bearer t" },
        body,
        timeoutMs: 5000,
      });
      assert.deepEqual(seenAs(answer), { status: 201, text: `stored ${i}` });
    }
    client.close();
    assert.equal(seen.connections, 1);
    const [first] = seen.requests;
    assert.match(first.head, /^PUT \/extracts\/x0 HTTP\/1\.1\r\n/);
    assert.match(first.head, new RegExp(`\r\nHost: ${new URL(origin).host}\r\n`));
    assert.match(first.head, /\r\nAuthorization: Bearer t\r\n/);
    assert.match(first.head, /\r\nContent-Length: 18$/);
    assert.equal(first.body, "line one\nline two\n");
  });
});

Deno.test("every framing of an answer is read whole: chunked, to the end, none for 204, after a 100", async () => {
  const answers = [
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6; x=y\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n",
    "HTTP/1.1 204 No Content\r\n\r\n",
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
    {
      bytes: "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end",
      thenClose: true as const,
    },
    ok("after a close"),
  ];
  await withServer((i) => answers[i], async (origin, seen) => {
    const client = new Http1Client(origin);
    const ask = async () =>
      seenAs(await client.request({ method: "GET", path: "/", timeoutMs: 5000 }));
    assert.deepEqual(await ask(), { status: 200, text: "hello world" });
    assert.deepEqual(await ask(), { status: 204, text: "" });
    assert.deepEqual(await ask(), { status: 200, text: "ok" });
    assert.deepEqual(await ask(), { status: 200, text: "until the end" });
    assert.deepEqual(await ask(), { status: 201, text: "after a close" });
    client.close();
    assert.deepEqual(seen.requests.map((r) => r.connection), [1, 1, 1, 1, 2]);
  });
});

Deno.test("a kept-alive connection the server closed while idle: the request goes on a new one", async () => {
  await withServer(
    (i) => (i === 0 ? ok("first") : i === 1 ? "close" : ok("on a new connection")),
    async (origin, seen) => {
      const client = new Http1Client(origin);
      const put = () =>
        client.request({ method: "PUT", path: "/x", body: new Uint8Array(3), timeoutMs: 5000 });
      assert.equal((await put()).text, "first");
      assert.equal((await put()).text, "on a new connection");
      client.close();
      assert.deepEqual(seen.requests.map((r) => r.connection), [1, 1, 2]);
    },
  );
});

Deno.test("a new connection closed before its answer is an error, not asked again", async () => {
  await withServer(() => "close", async (origin, seen) => {
    const client = new Http1Client(origin);
    await assert.rejects(
      client.request({ method: "GET", path: "/", timeoutMs: 5000 }),
      (error: Error) => networkReason(error, 5000) === "connection closed mid-request",
    );
    assert.equal(seen.requests.length, 1);
  });
});

Deno.test("a server that never answers: the request fails at its timeout, said as such", async () => {
  await withServer(() => "hang", async (origin) => {
    const client = new Http1Client(origin);
    await assert.rejects(
      client.request({ method: "GET", path: "/", timeoutMs: 200 }),
      (error: Error) => networkReason(error, 200) === "no answer within 0.2 s",
    );
  });
});

Deno.test("an answer that is not HTTP, or is too long, is a protocol error", async () => {
  const answers = [
    { bytes: "SSH-2.0-OpenSSH\r\n", thenClose: true as const },
    `HTTP/1.1 200 OK\r\nContent-Length: ${(1 << 20) + 1}\r\n\r\n`,
    `HTTP/1.1 200 OK\r\nX-Long: ${"x".repeat(70_000)}\r\n\r\n`,
  ];
  await withServer((i) => answers[i], async (origin) => {
    const client = new Http1Client(origin);
    for (
      const expected of [/not an HTTP\/1 answer/, /Content-Length 1048577/, /over 65536 bytes/]
    ) {
      await assert.rejects(
        client.request({ method: "GET", path: "/", timeoutMs: 5000 }),
        (error: Error) => error instanceof Http1ProtocolError && expected.test(error.message),
      );
    }
  });
});

Deno.test("maxAnswerBytes: a long answer within it is read whole, and the connection serves the next; beyond it, refused", async () => {
  const long = "y".repeat(2 << 20);
  const chunk = "z".repeat(1 << 20);
  const answers = [
    `HTTP/1.1 200 OK\r\nContent-Length: ${long.length}\r\n\r\n${long}`,
    "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext",
    `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${
      `100000\r\n${chunk}\r\n`.repeat(4)
    }0\r\n\r\n`,
  ];
  await withServer((i) => answers[i], async (origin, seen) => {
    const client = new Http1Client(origin, { maxAnswerBytes: 3 << 20 });
    const get = () => client.request({ method: "GET", path: "/", timeoutMs: 5000 });
    const first = await get();
    assert.equal(first.body.length, long.length);
    assert.equal(first.text, long);
    assert.equal((await get()).text, "next");
    assert.equal(seen.connections, 1, "the long answer left the connection in step");
    await assert.rejects(
      get(),
      (error: Error) => error instanceof Http1ProtocolError && /a chunk size/.test(error.message),
    );
    client.close();
  });
});

Deno.test("nothing listening: connection refused, in the words the retry logs use", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const client = new Http1Client(`http://127.0.0.1:${port}`);
  await assert.rejects(
    client.request({ method: "GET", path: "/", timeoutMs: 5000 }),
    (error: Error) => networkReason(error, 5000) === "connection refused",
  );
});

Deno.test("a connection idle longer than maxIdleMs is closed, not used again", async () => {
  await withServer(() => ok("stored"), async (origin, seen) => {
    const client = new Http1Client(origin, { maxIdleMs: 50 });
    const ask = async () =>
      seenAs(await client.request({ method: "GET", path: "/", timeoutMs: 5000 }));
    await ask();
    await ask(); // at once: the same connection
    await new Promise((resolve) => setTimeout(resolve, 100)); // idle past maxIdleMs
    await ask();
    client.close();
    assert.deepEqual(seen.requests.map((r) => r.connection), [1, 1, 2]);
  });
});

Deno.test("an answer before the body is read (a refusal) is the answer, not the broken write", async () => {
  const refusal = "HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno";
  await withServer(() => ({ early: refusal }), async (origin) => {
    const client = new Http1Client(origin);
    const body = new Uint8Array(16 << 20); // more than the socket buffers hold
    const answer = await client.request({ method: "PUT", path: "/x", body, timeoutMs: 5000 });
    assert.deepEqual(seenAs(answer), { status: 401, text: "no" });
  });
});

Deno.test("a header with a line break is refused before anything is sent", async () => {
  await withServer(() => ok("stored"), async (origin, seen) => {
    const client = new Http1Client(origin);
    const headers = { Authorization: "Bearer t\r\nX-Injected: 1" };
    await assert.rejects(
      client.request({ method: "GET", path: "/", headers, timeoutMs: 5000 }),
      /a line break in the head of GET \//,
    );
    assert.equal(seen.connections, 0);
  });
});
