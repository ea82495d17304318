/**
 * 8. The receiver under load: many clients, and slow ones.
 * @module
 */
import { join } from "node:path";
import { freePort } from "../../tools/couch_server.ts";
import { num, program, waitUntil, Watched } from "../measure.ts";
import type { Bench, Section } from "../bench.ts";

/**
 * The receiver against many clients at once: `clients` uploads of 7.9 MiB each, every one sending
 * its headers and its first MiB, then holding the connection open. The monitor's RSS is read while
 * they hang, and how they were answered is counted.
 */
async function receiverLoad(bench: Bench, clients = bench.sizes.uploads): Promise<void> {
  console.error("8. the receiver under load");
  const dir = await Deno.makeTempDir({ dir: bench.work, prefix: "receiver-" });
  const drop = join(dir, "drop");
  await Deno.mkdir(drop);
  await Deno.writeTextFile(join(dir, "token"), "bench-token");
  const port = freePort();
  const monitor = new Watched(program("monitor", [
    ...["--couchdb", bench.freshDb(), "--year", bench.year, "--listen", `127.0.0.1:${port}`],
    ...["--token-file", join(dir, "token"), drop],
  ]));
  await waitUntil(
    () => fetch(`http://127.0.0.1:${port}/`).then((r) => (r.body?.cancel(), true), () => false),
    30_000,
  );
  const before = (await monitor.memory()).rssMb;
  const size = Math.round(7.9 * 2 ** 20);
  const first = new Uint8Array(1 << 20).fill(65);
  const connections: Deno.Conn[] = [];
  for (let i = 0; i < clients; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const name = `load.0.${String(i * size).padStart(16, "0")}-${
      String((i + 1) * size).padStart(16, "0")
    }.log`;
    await conn.write(new TextEncoder().encode(
      `PUT /extracts/${name} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer bench-token\r\n` +
        `Content-Length: ${size}\r\n\r\n`,
    ));
    await conn.write(first).catch(() => 0); // a client answered 503 may be cut off already
    connections.push(conn);
  }
  await new Promise((r) => setTimeout(r, 2000));
  const during = await monitor.memory();
  // What each client was answered so far: the status line, when one came.
  let busy = 0;
  for (const conn of connections) {
    const buffer = new Uint8Array(64);
    const n = await Promise.race([
      conn.read(buffer).catch(() => null),
      new Promise<null>((r) => setTimeout(() => r(null), 20)),
    ]);
    if (n && /^HTTP\/1\.1 503/.test(new TextDecoder().decode(buffer.subarray(0, n)))) busy++;
  }
  for (const conn of connections) {
    try {
      conn.close();
    } catch {
      // closed by the server
    }
  }
  await monitor.stop();
  bench.add(
    "8. The receiver under load",
    `monitor --listen, ${clients} uploads of 7.9 MiB held open after their first MiB`,
    `RSS ${num(before)} MB before, ${num(during.rssMb)} MB while they hang (peak ${
      num(during.peakMb)
    } MB); ${busy} answered 503 at once (the rest wait, 16 at a time)`,
    "Target < 150 MB RSS with 200 uploads",
  );
}

/** The receiver section: the rows it adds. */
export const receiverSection: Section = {
  name: "receiver",
  run: (bench) => bench.rowsOf(() => receiverLoad(bench)),
};
