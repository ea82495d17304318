/**
 * `capture check` and `monitor check`: every part of a setup tried before it is started, the way
 * `vector validate` and `filebeat test output` do it. Each check prints one line, ✓ with what it
 * found or ✗ with what is wrong and the fix; a check whose ground failed is skipped, saying why.
 * Nothing is changed: no database is created, no cache file written, no extract moved.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CheckFailure, runChecks } from "./check.ts";
 * const lines: string[] = [];
 * const failed = await runChecks([
 *   { name: "log", run: () => Promise.resolve("/var/log/x.log is readable") },
 *   { name: "CouchDB", run: () => Promise.reject(new CheckFailure("no answer", "start it")) },
 *   { name: "database", after: "CouchDB", run: () => Promise.resolve("exists") },
 * ], (line) => lines.push(line));
 * assert.equal(failed, 1);
 * assert.deepEqual(lines, [
 *   "✓ log: /var/log/x.log is readable",
 *   "✗ CouchDB: no answer. Fix: start it",
 *   "- database: not checked (CouchDB failed)",
 * ]);
 * ```
 * @module
 */
import { dirname, join } from "../base/posix_path.ts";
import { readCheckpoint } from "../source/checkpoint.ts";
import { type CouchClient, CouchError, FEED_DESIGN_ID } from "../sink/couchdb.ts";
import { networkReason } from "../base/errors.ts";
import { type Http1Answer, Http1Client } from "../sink/http1.ts";
import { extractName } from "../sink/batch.ts";
import { EXTRACT_TOO_LARGE_FIX } from "../sink/receiver_client.ts";
import { formatBytes } from "../base/units.ts";
import { lockHolder } from "../source/lock.ts";
import { logrotateFor, rotationRisks } from "../source/logrotate.ts";

/** One thing to try; it resolves with what it found, or throws what is wrong. */
export interface Check {
  /** What is checked, as its line names it. */
  name: string;
  /** The check this one stands on: skipped when that one failed. */
  after?: string;
  /** Tries it: what was found, or throws what is wrong ({@linkcode CheckFailure} to name the fix). */
  run(): Promise<string>;
}

/** What a check found wrong, and how to mend it. */
export class CheckFailure extends Error {
  /** How to mend it, in words an operator acts on. */
  readonly fix: string;
  /** What is wrong (`message`), and how to mend it (`fix`). */
  constructor(message: string, fix: string) {
    super(message);
    this.name = "CheckFailure";
    this.fix = fix;
  }
}

/**
 * What a check found that works but can lose data: one `!` line each, which do not fail the run.
 */
export class CheckWarning extends Error {
  /** Each problem found, with its fix. */
  readonly warnings: { problem: string; fix: string }[];
  /** The warnings, each with its fix. */
  constructor(warnings: { problem: string; fix: string }[]) {
    super(warnings.map((w) => w.problem).join("; "));
    this.name = "CheckWarning";
    this.warnings = warnings;
  }
}

/** Runs `checks` in order, one line each through `write`: how many failed. */
export async function runChecks(
  checks: Check[],
  write: (line: string) => void = console.log,
): Promise<number> {
  const notPassed = new Set<string>();
  let failures = 0;
  for (const check of checks) {
    if (check.after && notPassed.has(check.after)) {
      write(`- ${check.name}: not checked (${check.after} failed)`);
      notPassed.add(check.name);
      continue;
    }
    try {
      write(`✓ ${check.name}: ${await check.run()}`);
    } catch (error) {
      if (error instanceof CheckWarning) {
        for (const w of error.warnings) write(`! ${check.name}: ${w.problem}. Fix: ${w.fix}`);
        continue;
      }
      failures++;
      notPassed.add(check.name);
      const fix = error instanceof CheckFailure ? `. Fix: ${error.fix}` : "";
      write(`✗ ${check.name}: ${(error as Error).message}${fix}`);
    }
  }
  return failures;
}

/** The settings that are not defaults, with where each came from: `couchdb ($COUCHDB_URL)`. */
export function describeOrigins(origins: Record<string, string>): string {
  const set = Object.entries(origins).filter(([, from]) => !from.startsWith("default"))
    .map(([key, from]) => `${key} (${from})`);
  return set.length ? `set: ${set.join(", ")}; the rest are defaults` : "all defaults";
}

/** The log can be read, or, while it does not exist, its folder can be watched for it. */
export function logCheck(path: string): Check {
  return {
    name: "log",
    run: async () => {
      try {
        using file = await Deno.open(path);
        const info = await file.stat();
        if (!info.isFile) throw new CheckFailure(`${path} is not a regular file`, "give the log");
        await file.read(new Uint8Array(1));
        return `${path} is readable (${info.size} bytes)`;
      } catch (error) {
        if (error instanceof CheckFailure) throw error;
        if (error instanceof Deno.errors.PermissionDenied) {
          throw new CheckFailure(
            `${path} cannot be read by this user`,
            "run as a user in the log's group, or give the log's folder a default ACL (an ACL on the file is lost at rotation)",
          );
        }
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
      const folder = dirname(path);
      try {
        // One entry tells that it can be listed; a log folder may hold thousands.
        const entries = Deno.readDir(folder)[Symbol.asyncIterator]();
        await entries.next();
        await entries.return?.();
      } catch (error) {
        throw new CheckFailure(
          `${path} does not exist, and its folder cannot be watched: ${(error as Error).message}`,
          `check the path, or let this user read ${folder}`,
        );
      }
      return `${path} does not exist yet; capture waits for it in ${folder} (--once would exit 1)`;
    },
  };
}

/**
 * The logrotate configuration that covers the log (`confs`: /etc/logrotate.conf and what it
 * includes, or `--logrotate-conf`): a `!` line for each setting that loses data with these
 * `--rotated` globs.
 */
export function logrotateCheck(path: string, rotatedGlobs: string[], confs: string[]): Check {
  return {
    name: "logrotate",
    run: async () => {
      const stanza = await logrotateFor(path, confs);
      if (!stanza) return `no configuration in ${confs.join(", ")} covers ${path}`;
      const risks = rotationRisks(path, stanza, rotatedGlobs);
      if (risks.length > 0) throw new CheckWarning(risks);
      return `${stanza.where} covers ${path}: nothing in it loses data`;
    },
  };
}

/** A folder this user may create files in; `what` names it in the messages. */
async function writableFolder(folder: string, what: string): Promise<string> {
  const info = await Deno.stat(folder).catch(() => null);
  if (!info) {
    const parent = dirname(folder);
    if (parent === folder) {
      throw new CheckFailure(`${what} ${folder} cannot be made`, "fix the path");
    }
    await writableFolder(parent, "the folder above");
    return `${folder} will be created`;
  }
  if (!info.isDirectory) {
    throw new CheckFailure(`${what} ${folder} is not a folder`, "give a folder's path");
  }
  const probe = join(folder, `.logcapture-check-${Deno.pid}`);
  try {
    await Deno.writeFile(probe, new Uint8Array(0), { createNew: true, mode: 0o600 });
    await Deno.remove(probe);
  } catch (error) {
    throw new CheckFailure(
      `${what} ${folder} is not writable by this user: ${(error as Error).message}`,
      `give this user write access to ${folder}`,
    );
  }
  return `${folder} is writable`;
}

/** That no other process holds the lock on `path` (it is taken and given back at once). */
async function lockFree(path: string, what: string, fix: string): Promise<void> {
  // Looked at, never taken: a check creates no lock file and writes none.
  const holder = await lockHolder(path).catch((error) => {
    throw new CheckFailure(`cannot look at the lock ${path}: ${(error as Error).message}`, fix);
  });
  if (holder) throw new CheckFailure(`${what} is in use by another process (${holder})`, fix);
}

/** A drop directory no other monitor holds. */
export function dropDirectoryLockCheck(dir: string): Check {
  return {
    name: "drop directory lock",
    after: "drop directory",
    run: async () => {
      await lockFree(
        dir,
        `drop directory ${dir}`,
        "a monitor runs on this directory already; one monitor per drop directory",
      );
      return "no other monitor holds it";
    },
  };
}

/** The cache file's folder is writable, no other capture holds it, and what it says. */
export function cacheCheck(cachePath: string, lockPath: string): Check {
  return {
    name: "cache file",
    run: async () => {
      const folder = await writableFolder(dirname(cachePath), "the cache file's folder");
      if (await Deno.stat(dirname(cachePath)).catch(() => null)) {
        await lockFree(
          lockPath,
          `cache file ${cachePath}`,
          "a capture runs on this log already; stop it before starting another",
        );
      }
      let checkpoint;
      try {
        checkpoint = await readCheckpoint(cachePath);
      } catch (error) {
        throw new CheckFailure(
          (error as Error).message,
          `move ${cachePath} away: capture then asks CouchDB where it got to`,
        );
      }
      return checkpoint
        ? `${cachePath}: generation ${checkpoint.generation}, offset ${checkpoint.offset} (${folder}; not locked)`
        : `${cachePath} does not exist yet: nothing captured (${folder})`;
    },
  };
}

/** The checks of a CouchDB database: the server, the credentials, the database, the views. */
export function couchChecks(db: CouchClient, options: { feedViews: boolean }): Check[] {
  let admin = false;
  return [
    {
      name: "CouchDB",
      run: async () => {
        try {
          return `${db.server} answers: ${await db.serverVersion()}`;
        } catch (error) {
          // Any HTTP answer says the server is there; what it refused is the next check's.
          if (error instanceof CouchError && error.status > 0) {
            return `${db.server} answers (HTTP ${error.status} without accepted credentials)`;
          }
          throw new CheckFailure(
            (error as Error).message,
            /certificate|TLS/i.test((error as Error).message)
              ? "give the private CA with --ca-file, or check the URL's scheme"
              : "check --couchdb (host, port, http or https) and that CouchDB runs",
          );
        }
      },
    },
    {
      name: "credentials",
      after: "CouchDB",
      run: async () => {
        const { body } = await db.request("GET", "_session", undefined, {
          server: true,
          retry: false,
        }).catch((error) => {
          throw new CheckFailure(
            (error as Error).message,
            "check the user and password (COUCHDB_USER, COUCHDB_PASSWORD or passwordFile, or the URL)",
          );
        });
        const user = (body.userCtx ?? {}) as { name?: string | null; roles?: string[] };
        admin = user.roles?.includes("_admin") ?? false;
        if (!user.name && !admin) {
          throw new CheckFailure(
            "CouchDB takes no request without credentials, and none were given",
            "give a user: COUCHDB_USER and COUCHDB_PASSWORD, or passwordFile",
          );
        }
        return `accepted${user.name ? ` as ${user.name}` : ""}${admin ? " (an admin)" : ""}`;
      },
    },
    {
      name: "database",
      after: "credentials",
      run: async () => {
        const { status, body } = await db.request("GET", "", undefined, { retry: false })
          .catch((error) => {
            throw new CheckFailure(
              (error as Error).message,
              `give this user access to ${db.database} (its _security members)`,
            );
          });
        if (status === 404) {
          if (admin) return `${db.url} does not exist yet; it is created at the start`;
          throw new CheckFailure(
            `${db.url} does not exist, and only a server admin can create it`,
            `have an admin create it and make this user a member (see "CouchDB privileges" in the README: curl -u ADMIN -X PUT ${db.url})`,
          );
        }
        return `${db.url} exists (${body.doc_count ?? "?"} documents)`;
      },
    },
    ...options.feedViews
      ? [{
        name: "design document",
        after: "database",
        run: async () => {
          const state = await db.feedDesignState();
          if (state === "current") return `${FEED_DESIGN_ID} is current`;
          if (admin) return `${FEED_DESIGN_ID} is ${state}; it is written at the start`;
          throw new CheckWarning([{
            problem:
              `${FEED_DESIGN_ID} is ${state}, and only an admin of the database can write it: capture stores feed documents without it, but the views downstream reads are not there`,
            fix:
              `run capture once with an admin's credentials (COUCHDB_USER=admin COUCHDB_PASSWORD=... capture --once ...), which writes it`,
          }]);
        },
      }]
      : [],
  ];
}

/** A drop directory: a folder this user can write extracts into. */
export function dropDirectoryCheck(dir: string): Check {
  return {
    name: "drop directory",
    run: async () => {
      const info = await Deno.stat(dir).catch(() => null);
      if (!info?.isDirectory) {
        throw new CheckFailure(`${dir} is not a directory`, `create it: mkdir -p ${dir}`);
      }
      return await writableFolder(dir, "the drop directory");
    },
  };
}

/** A PEM file that can be read. */
export function pemFileCheck(name: string, path: string, setting: string): Check {
  return {
    name,
    run: async () => {
      const text = await Deno.readTextFile(path).catch((error) => {
        throw new CheckFailure(`cannot read ${path}: ${error.message}`, `fix ${setting}`);
      });
      if (!text.includes("-----BEGIN ")) {
        throw new CheckFailure(`${path} holds no PEM block`, `${setting} takes a PEM file`);
      }
      return `${path} is a PEM file`;
    },
  };
}

/**
 * A monitor's receiver answers, takes this token, and takes extracts of `extractBytes` (capture's
 * `--batch-bytes`): reached as capture reaches it, and asked by an extract's name alone.
 */
export function receiverCheck(
  url: string,
  token: string,
  caCerts: string[] | undefined,
  extractBytes: number,
): Check {
  return {
    name: "receiver",
    run: async () => {
      const client = new Http1Client(url, { caCerts });
      const ask = async (method: string, path: string): Promise<Http1Answer> => {
        try {
          const headers = { Authorization: `Bearer ${token}` };
          return await client.request({ method, path, headers, timeoutMs: 10_000 });
        } catch (error) {
          throw new CheckFailure(
            `cannot reach the receiver at ${url}: ${networkReason(error, 10_000)}`,
            "check --ship-to, and that the monitor runs with --listen",
          );
        }
      };
      try {
        const { status } = await ask("GET", "/position?source=logcapture-check&file=0-0-0");
        if (status === 401) {
          throw new CheckFailure(
            `the receiver at ${url} refuses this token (401)`,
            "give the monitor's token with --token-file",
          );
        }
        if (status >= 500 && status !== 503) {
          throw new CheckFailure(
            `the receiver at ${url} answered ${status}`,
            "see the monitor's log",
          );
        }
        // The receiver judges an extract's size by its name, before any body: an empty body is
        // refused at once (400, its length is not the name's), or 413 when the name's range is
        // more than the receiver takes. Nothing is written either way.
        const name = extractName("logcapture-check", 0, 0, extractBytes, "0".repeat(16));
        const fits = await ask("PUT", `/extracts/${name}`);
        const size = formatBytes(extractBytes);
        if (fits.status === 413) {
          throw new CheckFailure(
            `the receiver at ${url} refuses extracts of ${size} (413: ${reasonIn(fits.text)})`,
            EXTRACT_TOO_LARGE_FIX,
          );
        }
        const taken = fits.status === 400 ? `, and extracts of ${size} (--batch-bytes)` : "";
        return `${url} answers and takes the token${taken}`;
      } finally {
        client.close();
      }
    },
  };
}

/** The `reason` of a receiver's JSON refusal, or the start of whatever else answered (a proxy). */
function reasonIn(text: string): string {
  try {
    const reason = (JSON.parse(text) as { reason?: unknown }).reason;
    if (typeof reason === "string") return reason;
  } catch {
    // not JSON: said as it came
  }
  return text.trim().slice(0, 100);
}

/** The receiver's address can be listened on (nothing else holds it). */
export function listenCheck(
  hostname: string,
  port: number,
  flag: "--listen" | "--status-listen" = "--listen",
): Check {
  return {
    name: flag === "--listen" ? "listen address" : "status address",
    run: () => {
      try {
        Deno.listen({ hostname, port }).close();
      } catch (error) {
        throw new CheckFailure(
          `cannot listen on ${hostname}:${port}: ${(error as Error).message}`,
          error instanceof Deno.errors.AddrInUse
            ? `another program (the same program already running?) holds it: stop it, or choose another ${flag}`
            : `choose another ${flag}`,
        );
      }
      return Promise.resolve(`${hostname}:${port} is free`);
    },
  };
}

/** A certificate and its private key that go together, for an https receiver. */
export function tlsPairCheck(certFile: string, keyFile: string): Check {
  return {
    name: "TLS certificate",
    after: "TLS key",
    run: async () => {
      const [cert, key] = [await Deno.readTextFile(certFile), await Deno.readTextFile(keyFile)];
      try {
        Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key }).close();
      } catch (error) {
        throw new CheckFailure(
          `${certFile} and ${keyFile} cannot serve https: ${(error as Error).message}`,
          "give a certificate and the private key it was made for (PEM)",
        );
      }
      return `${certFile} and ${keyFile} go together`;
    },
  };
}
