/**
 * The status endpoint of a running program: `/healthz` (200, or 503; a JSON body with each check's
 * verdict) and `/metrics` in the Prometheus text format. It is served from the start, before
 * CouchDB has answered, so that a program that cannot get going says so.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "../base/log.ts";
 * import { Health } from "../run/health.ts";
 * import { startStatusServer } from "./status.ts";
 * const stop = new AbortController();
 * const health = new Health();
 * health.add("couchdb", () => "CouchDB does not answer");
 * const server = startStatusServer({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   program: "capture",
 *   health,
 *   metrics: () => ({ bytes_read_total: { value: 1, help: "bytes read", type: "counter" } }),
 *   log: createLogger({ level: "error" }),
 *   signal: stop.signal,
 * });
 * const base = `http://127.0.0.1:${server.addr.port}`;
 * const answer = await fetch(`${base}/healthz`);
 * assert.equal(answer.status, 503);
 * assert.deepEqual(await answer.json(), {
 *   status: "unhealthy",
 *   reason: "CouchDB does not answer",
 *   checks: { couchdb: "CouchDB does not answer" },
 * });
 * assert.match(await (await fetch(`${base}/metrics`)).text(), /^logcapture_capture_bytes_read_total 1$/m);
 * stop.abort();
 * await server.finished;
 * ```
 * @module
 */
import type { Logger } from "../base/log.ts";
import { listening } from "../base/errors.ts";
import type { Health } from "../run/health.ts";

/** One metric: its value, help text and type. */
export interface Metric {
  /** The metric's value now. */
  value: number;
  /** Its `# HELP` text. */
  help: string;
  /** Its Prometheus type. */
  type: "counter" | "gauge";
}

/** Status server settings. */
export interface StatusOptions {
  /** The address `/metrics` and `/healthz` are served on. */
  hostname: string;
  /** The port they are served on. */
  port: number;
  /** `logcapture_<program>_` prefixes every metric name. */
  program: string;
  /** The checks `/healthz` reports. */
  health: Health;
  /** The metrics as they are now, by name. */
  metrics: () => Record<string, Metric>;
  /** Where the listening address and errors are told. */
  log: Logger;
  /** Stops the server. */
  signal?: AbortSignal;
}

/** The metrics as Prometheus text. */
export function prometheusText(program: string, metrics: Record<string, Metric>): string {
  let text = "";
  for (const [name, metric] of Object.entries(metrics)) {
    const full = `logcapture_${program}_${name}`;
    text +=
      `# HELP ${full} ${metric.help}\n# TYPE ${full} ${metric.type}\n${full} ${metric.value}\n`;
  }
  return text;
}

/** Splits `HOST:PORT` (`[::1]:9100` too); `null` when it is not that. */
export function parseHostPort(text: string): { hostname: string; port: number } | null {
  const m = /^(.*):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !m[1] || port > 65535) return null;
  return { hostname: m[1].replace(/^\[|\]$/g, ""), port };
}

/** Serves `/healthz` and `/metrics`. */
export function startStatusServer(options: StatusOptions): Deno.HttpServer<Deno.NetAddr> {
  return listening(options.hostname, options.port, "--status-listen", () => serveStatus(options));
}

function serveStatus(options: StatusOptions): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({
    hostname: options.hostname,
    port: options.port,
    signal: options.signal,
    onListen: ({ hostname, port }) =>
      options.log.info(`status on http://${hostname}:${port}/healthz and /metrics`),
  }, (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/healthz") {
      const { healthy, checks } = options.health.report();
      const body = {
        status: healthy ? "ok" : "unhealthy",
        ...(healthy ? {} : { reason: options.health.problem() }),
        checks,
      };
      return new Response(JSON.stringify(body) + "\n", {
        status: healthy ? 200 : 503,
        headers: { "Content-Type": "application/json" },
      });
    }
    if (path === "/metrics") {
      const healthy = {
        value: options.health.report().healthy ? 1 : 0,
        help: "1 when /healthz answers 200, else 0",
        type: "gauge" as const,
      };
      return new Response(prometheusText(options.program, { ...options.metrics(), healthy }), {
        headers: { "Content-Type": "text/plain; version=0.0.4" },
      });
    }
    return new Response("not found: /healthz or /metrics\n", { status: 404 });
  });
}
