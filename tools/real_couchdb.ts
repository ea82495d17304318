/**
 * Apache CouchDB itself, for CI, the tests and the benchmarks, where its release is at hand: the
 * `start` and `cluster` scripts of a folder named by `LOGCAPTURE_COUCHDB_SCRIPTS`, else the
 * `couchdb/` folder of the workplace's `shared/` beside the project. A user's clone has neither, and
 * then everything runs on pouchdb-server (`couch_server.ts`) or on the server `COUCHDB_URL` names.
 *
 * @example
 * ```ts
 * import { couchdbScripts, startCouchdb } from "./real_couchdb.ts";
 * if (couchdbScripts()) {
 *   await using server = await startCouchdb();
 *   console.log(server.url); // http://admin:PASSWORD@127.0.0.1:PORT
 * }
 * ```
 * @module
 */
import { join } from "node:path";

const ROOT = join(import.meta.dirname!, "..");

/** The folder holding CouchDB's `start` and `cluster` scripts, or `null` where there is none. */
export function couchdbScripts(): string | null {
  const given = Deno.env.get("LOGCAPTURE_COUCHDB_SCRIPTS");
  for (const dir of given ? [given] : [join(ROOT, "..", "shared", "couchdb")]) {
    try {
      if (Deno.statSync(join(dir, "start")).isFile) return dir;
    } catch {
      // not here
    }
  }
  return null;
}

async function script(name: "start" | "cluster", args: string[]): Promise<string[]> {
  const dir = couchdbScripts();
  if (!dir) throw new Error("no CouchDB release here: set LOGCAPTURE_COUCHDB_SCRIPTS");
  const out = await new Deno.Command(join(dir, name), {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `couchdb/${name} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  return new TextDecoder().decode(out.stdout).trim().split("\n");
}

/** Sends `signal` to the node living in `dir` and waits until it is gone. */
async function stopNode(dir: string, signal: Deno.Signal): Promise<void> {
  const pid = Number(await Deno.readTextFile(join(dir, "couchdb.pid")).catch(() => "0"));
  if (!pid) return;
  try {
    Deno.kill(pid, signal);
  } catch {
    return; // gone already
  }
  // Not our child (the start script's), so it cannot be awaited: watch /proc until it is gone or
  // a zombie that nobody has reaped yet.
  for (;;) {
    const status = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => "");
    if (!status || /^State:\s+Z/m.test(status)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A running single node: its URL (credentials included), how to stop it and start it again. */
export interface RealCouchdb extends AsyncDisposable {
  url: string;
  dir: string;
  /** SIGKILL (or another signal); the data stays in `dir`. */
  stop(signal?: Deno.Signal): Promise<void>;
  /** Starts it again on the same port, with the same data. */
  start(): Promise<void>;
}

/** Starts a single CouchDB node in a new temporary folder; disposing it stops it and removes it. */
export async function startCouchdb(): Promise<RealCouchdb> {
  const dir = await Deno.makeTempDir({ prefix: "logcapture-couchdb-" });
  const [url] = await script("start", [dir]);
  const stop = (signal: Deno.Signal = "SIGKILL") => stopNode(dir, signal);
  return {
    url,
    dir,
    stop,
    start: async () => void await script("start", [dir]),
    async [Symbol.asyncDispose]() {
      await stop("SIGTERM");
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** A running cluster: one URL per node (node 1 first), and nodes to kill and bring back. */
export interface RealCluster extends AsyncDisposable {
  urls: string[];
  /** SIGKILLs node `k` (1-based). */
  kill(k: number): Promise<void>;
  /** Starts the nodes that are down again, with their data. */
  restart(): Promise<void>;
}

/** Starts a cluster of `nodes` CouchDB nodes in a new temporary folder (about 12 s for three). */
export async function startCluster(nodes = 3): Promise<RealCluster> {
  const dir = await Deno.makeTempDir({ prefix: "logcapture-cluster-" });
  const urls = await script("cluster", [dir, String(nodes)]);
  const nodeDir = (k: number) => join(dir, `node${k}`);
  return {
    urls,
    kill: (k) => stopNode(nodeDir(k), "SIGKILL"),
    restart: async () => void await script("cluster", [dir, String(nodes)]),
    async [Symbol.asyncDispose]() {
      for (let k = 1; k <= nodes; k++) await stopNode(nodeDir(k), "SIGTERM");
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * What a server says it is (`GET /`): "Apache CouchDB 3.5.0", "pouchdb-server 4.2.0", or its
 * vendor and version as given.
 */
export async function serverName(url: string): Promise<string> {
  const response = await fetch(new URL("/", url), { signal: AbortSignal.timeout(10_000) });
  const body = await response.json();
  if (body.couchdb === "Welcome" && body.vendor?.name === "The Apache Software Foundation") {
    return `Apache CouchDB ${body.version}`;
  }
  if (body["express-pouchdb"] || body["pouchdb-server"]) return `pouchdb-server ${body.version}`;
  return `${body.vendor?.name ?? "a CouchDB API server"} ${body.version ?? ""}`.trim();
}
