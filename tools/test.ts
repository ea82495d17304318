/**
 * `deno task test`: runs every test against a real CouchDB API server. When `COUCHDB_URL` is not
 * set, pouchdb-server is installed and started on a free loopback port, and stopped at the end even
 * when tests fail. The tests' databases are counted before and after: one left behind fails the
 * run (and is deleted). Ends with one line naming the server and the counts, such as
 * `couchdb: 120 passed, 0 failed, 1 skipped`. Extra arguments go to `deno test`
 * (e.g. `deno task test --filter crash`).
 * @module
 */
import { redactUrl } from "../lib/base/redact.ts";
import { join } from "node:path";
import { startCouchServer, TEST_DB_PREFIX } from "./couch_server.ts";
import { taskArgs } from "./deno_run.ts";
import { serverName } from "./real_couchdb.ts";

const ROOT = join(import.meta.dirname!, "..");

/** The test databases on the server. */
async function testDatabases(url: string): Promise<string[]> {
  const response = await fetch(new URL("/_all_dbs", url));
  if (!response.ok) throw new Error(`GET /_all_dbs: ${response.status} ${await response.text()}`);
  return (await response.json() as string[]).filter((name) => name.startsWith(TEST_DB_PREFIX));
}

async function main(): Promise<number> {
  let server: Awaited<ReturnType<typeof startCouchServer>> | null = null;
  let url = Deno.env.get("COUCHDB_URL")?.replace(/\/+$/, "");
  if (!url) {
    server = await startCouchServer();
    url = server.url;
  }
  try {
    const name = await serverName(url);
    console.error(`test server: ${name} at ${redactUrl(url)}`);
    const before = new Set(await testDatabases(url));
    // The tests' temporary files go into a folder of the run's own, counted and removed at the
    // end, so that a run leaves the machine's temporary folder as it found it.
    const sandbox = await Deno.makeTempDir({ prefix: "logcapture-tests-" });
    const child = new Deno.Command(Deno.execPath(), {
      // The examples of lib/ run too: they are its executable documentation.
      args: [
        "test",
        "-A",
        "--doc",
        "--config",
        join(ROOT, "deno.json"),
        ...taskArgs(),
        join(ROOT, "tests"),
        join(ROOT, "lib"),
      ],
      cwd: ROOT,
      env: {
        COUCHDB_URL: url,
        LOGCAPTURE_TEST_SERVER: server ? "pouchdb" : "external",
        TMPDIR: sandbox,
        // A program run without --cache keeps its cache file under XDG_STATE_HOME: not the user's.
        XDG_STATE_HOME: join(sandbox, "state"),
      },
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    let tail = "";
    const decoder = new TextDecoder();
    for await (const chunk of child.stdout) {
      await Deno.stdout.write(chunk);
      tail = (tail + decoder.decode(chunk, { stream: true })).slice(-4000);
    }
    const status = await child.status;
    // deno test ends with "ok | 12 passed | 0 failed" or "FAILED | 11 passed | 1 failed | 2 ignored"
    // deno-lint-ignore no-control-regex
    const plain = tail.replace(/\x1b\[[0-9;]*m/g, "");
    const m = /(\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \| (\d+) ignored)?/.exec(
      plain,
    );
    const passed = m ? Number(m[1]) : 0;
    let failed = m ? Number(m[3]) : status.success ? 0 : 1;
    const skipped = m?.[4] ? Number(m[4]) : 0;
    const left = (await testDatabases(url)).filter((db) => !before.has(db));
    if (left.length > 0) {
      console.error(`the tests left ${left.length} databases behind (deleted now): ${left}`);
      for (const db of left) {
        await (await fetch(`${url}/${db}`, { method: "DELETE" })).body?.cancel();
      }
      failed++;
    } else console.error("the tests left no database behind");
    const leftFiles = [...Deno.readDirSync(sandbox)].map((e) => e.name);
    await Deno.remove(sandbox, { recursive: true });
    console.error(
      leftFiles.length > 0
        ? `the tests left ${leftFiles.length} temporary files and folders (removed with their folder): ${
          leftFiles.slice(0, 10).join(", ")
        }${leftFiles.length > 10 ? ", ..." : ""}`
        : "the tests left no temporary file behind",
    );
    const word = name.startsWith("Apache CouchDB")
      ? "couchdb"
      : name.startsWith("pouchdb-server")
      ? "pouchdb"
      : "server";
    console.log(
      `${word}: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`,
    );
    return status.success && left.length === 0 ? 0 : 1;
  } finally {
    await server?.[Symbol.asyncDispose]();
  }
}

Deno.exit(await main());
