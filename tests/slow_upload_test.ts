/**
 * Slow uploads (issue 21): clients that send their body a byte a second are cut after the grace
 * period, so that they cannot hold every upload slot; a good client that retries its 503 gets
 * through. Through the real monitor's receiver, with raw sockets for the slow clients.
 */
import assert from "node:assert/strict";
import { freshDb, receivingMonitor, tempDir, test } from "./helpers.ts";

test("50 clients sending a byte a second cannot hold every upload slot: they are cut and logged, and a retrying good client gets through", async () => {
  await using dir = await tempDir();
  const drop = `${dir.path}/drop`;
  await Deno.mkdir(drop);
  const receiving = await receivingMonitor(dir.path, drop, freshDb("slowupload"));
  await using monitor = receiving.monitor;
  const port = receiving.port;
  const line = "x".repeat(99) + "\n";
  const slow: Deno.TcpConn[] = [];
  let stop = false;
  const trickle = async (i: number) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    slow.push(conn);
    const name = `s${i}.0.0000000000000000-0000000000000100.log`;
    const head = `PUT /extracts/${name} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\n` +
      `Content-Length: 100\r\n\r\n`;
    await conn.write(new TextEncoder().encode(head)).catch(() => {});
    for (let b = 0; b < line.length && !stop; b++) {
      if (await conn.write(new TextEncoder().encode(line[b])).catch(() => null) === null) return;
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  const trickles = Array.from({ length: 50 }, (_, i) => trickle(i));
  await new Promise((r) => setTimeout(r, 500)); // the slots are taken
  const good = `g.0.0000000000000000-0000000000000100.log`;
  const started = Date.now();
  let status = 0;
  for (let attempt = 0; attempt < 60 && status !== 201; attempt++) {
    const response = await fetch(`http://127.0.0.1:${port}/extracts/${good}`, {
      method: "PUT",
      headers: { Authorization: "Bearer tok" },
      body: line,
    });
    status = response.status;
    await response.body?.cancel();
    if (status !== 201) await new Promise((r) => setTimeout(r, 1000));
  }
  console.log(`the good client got ${status} after ${Date.now() - started} ms`);
  assert.equal(status, 201);
  await monitor.waitFor(
    /WARN .*cut a slow upload from 127\.0\.0\.1: the upload averaged less than/,
  );
  stop = true;
  for (const conn of slow) {
    try {
      conn.close();
    } catch {
      // closed by the receiver
    }
  }
  await Promise.all(trickles);
});
