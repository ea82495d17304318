/**
 * A CouchDB API server for tests, the demo and benchmarks: pouchdb-server, installed on the fly
 * into `.cache/` and started in memory on a free loopback port. Used when `COUCHDB_URL` is not set.
 *
 * @example
 * ```ts
 * import { startCouchServer } from "./couch_server.ts";
 * await using server = await startCouchServer();
 * console.log(server.url); // http://127.0.0.1:PORT
 * ```
 * @module
 */
import { join } from "node:path";

/** The pinned pouchdb-server version. */
export const POUCHDB_SERVER_VERSION = "4.2.0";

/**
 * What the names of the tests' databases start with: the test runner counts a run's leftovers by
 * it, and the tests name theirs with it.
 */
export const TEST_DB_PREFIX = "lc_";

const ROOT = join(import.meta.dirname!, "..");
const INSTALL_DIR = join(ROOT, ".cache", "pouchdb-server");
const BIN = join(INSTALL_DIR, "node_modules", ".bin", "pouchdb-server");

/** A running server: its URL (no trailing slash) and how to stop it. */
export interface CouchServer {
  url: string;
  pid: number;
  /** Stops the server (and lets it be started again with `restart`). */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty (it keeps data in memory only). */
  restart(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Installs pouchdb-server into `.cache/` unless it is there already. */
export async function installCouchServer(log = (m: string) => console.error(m)): Promise<string> {
  if (await exists(BIN)) return BIN;
  log(`installing pouchdb-server@${POUCHDB_SERVER_VERSION} into ${INSTALL_DIR} (about 20 s)`);
  await Deno.mkdir(INSTALL_DIR, { recursive: true });
  const out = await new Deno.Command("npm", {
    args: [
      "install",
      "--prefix",
      INSTALL_DIR,
      "--ignore-scripts",
      "--no-save",
      "--no-audit",
      "--no-fund",
      `pouchdb-server@${POUCHDB_SERVER_VERSION}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success || !await exists(BIN)) {
    throw new Error(
      `npm install pouchdb-server failed:\n${new TextDecoder().decode(out.stderr).slice(-2000)}`,
    );
  }
  return BIN;
}

/** Whether util-linux's `setsid` is there. */
export async function hasSetsid(): Promise<boolean> {
  try {
    return (await new Deno.Command("setsid", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output()).success;
  } catch {
    return false;
  }
}

/** A free TCP port on loopback. */
export function freePort(): number {
  // Below Linux's ephemeral range (32768–60999): a port the kernel handed out could be taken again
  // as the local port of an outgoing connection before the server that is to use it listens.
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    }
  }
}

/** Installs (if needed) and starts pouchdb-server in memory on a free loopback port. */
export async function startCouchServer(
  port = freePort(),
  options: { ownSession?: boolean } = {},
): Promise<CouchServer> {
  const bin = await installCouchServer();
  const dir = await Deno.makeTempDir({ prefix: "logcapture-couch-" });
  await Deno.mkdir(join(dir, "data"));
  await Deno.writeTextFile(
    join(dir, "config.json"),
    JSON.stringify({ log: { file: join(dir, "log.txt") } }),
  );
  const url = `http://127.0.0.1:${port}`;
  let child: Deno.ChildProcess | null = null;

  async function start(): Promise<void> {
    const args = [
      "-n",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--in-memory",
      "--dir",
      join(dir, "data"),
      "--config",
      join(dir, "config.json"),
    ];
    // Ctrl-C reaches the whole foreground process group, and pouchdb-server exits on SIGINT. In a
    // session of its own (setsid execs it: same PID) it outlives its caller's last count, and is
    // stopped by it.
    const own = options.ownSession && await hasSetsid();
    child = new Deno.Command(own ? "setsid" : bin, {
      args: own ? [bin, ...args] : args,
      cwd: dir,
      stdout: "null",
      stderr: "null",
      stdin: "null",
    }).spawn();
    let exited = false;
    child.status.then(() => (exited = true));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`pouchdb-server exited at start (port ${port} taken?)`);
      try {
        const response = await fetch(url + "/", { signal: AbortSignal.timeout(1000) });
        await response.body?.cancel();
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`pouchdb-server did not answer on ${url} within 30 s`);
  }

  async function stop(): Promise<void> {
    const c = child;
    child = null;
    if (!c) return;
    try {
      c.kill("SIGKILL");
    } catch {
      // already gone
    }
    await c.status;
  }

  await start();
  return {
    url,
    get pid() {
      return child?.pid ?? 0;
    },
    stop,
    restart: start,
    async [Symbol.asyncDispose]() {
      await stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
