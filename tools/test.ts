/**
 * `deno task test`: runs every test against a real CouchDB API server. When `COUCHDB_URL` is not
 * set, pouchdb-server is installed and started on a free loopback port, and stopped at the end even
 * when tests fail. Ends with `tests: N passed, N failed`. Extra arguments go to `deno test`
 * (e.g. `deno task test --filter crash`).
 * @module
 */
import { join } from "node:path";
import { startCouchServer } from "./couch_server.ts";
import { taskArgs } from "./deno_run.ts";

const ROOT = join(import.meta.dirname!, "..");

async function main(): Promise<number> {
  let server: Awaited<ReturnType<typeof startCouchServer>> | null = null;
  let url = Deno.env.get("COUCHDB_URL");
  if (!url) {
    server = await startCouchServer();
    url = server.url;
    console.error(`test server: pouchdb-server at ${url}`);
  } else {
    console.error(`test server: ${url.replace(/\/\/[^/@]*@/, "//")}`);
  }
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", "--config", join(ROOT, "deno.json"), ...taskArgs(), join(ROOT, "tests")],
      cwd: ROOT,
      env: { COUCHDB_URL: url, LOGCAPTURE_TEST_SERVER: server ? "pouchdb" : "external" },
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
    // deno test ends with "ok | 12 passed | 0 failed" or "FAILED | 11 passed | 1 failed"
    // deno-lint-ignore no-control-regex
    const plain = tail.replace(/\x1b\[[0-9;]*m/g, "");
    const m = /(\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed/.exec(plain);
    const passed = m ? Number(m[1]) : 0;
    const failed = m ? Number(m[3]) : status.success ? 0 : 1;
    console.log(`tests: ${passed} passed, ${failed} failed`);
    return status.success ? 0 : 1;
  } finally {
    await server?.[Symbol.asyncDispose]();
  }
}

Deno.exit(await main());
