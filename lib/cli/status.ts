/**
 * The status endpoint of a running program: `/healthz` (200, or 503 with the reason) and `/metrics`
 * in the Prometheus text format.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "../base/log.ts";
 * import { startStatusServer } from "./status.ts";
 * const stop = new AbortController();
 * const server = startStatusServer({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   program: "capture",
 *   health: () => "CouchDB does not answer",
 *   metrics: () => ({ lines_read_total: { value: 1, help: "lines read", type: "counter" } }),
 *   log: createLogger({ level: "error" }),
 *   signal: stop.signal,
 * });
 * const base = `http://127.0.0.1:${server.addr.port}`;
 * const health = await fetch(`${base}/healthz`);
 * assert.equal(health.status, 503);
 * assert.equal(await health.text(), "unhealthy: CouchDB does not answer\n");
 * assert.match(await (await fetch(`${base}/metrics`)).text(), /^logcapture_capture_lines_read_total 1$/m);
 * stop.abort();
 * await server.finished;
 * ```
 * @module
 */
import type { Logger } from "../base/log.ts";

/** One metric: its value, help text and type. */
export interface Metric {
  value: number;
  help: string;
  type: "counter" | "gauge";
}

/** Status server settings. */
export interface StatusOptions {
  hostname: string;
  port: number;
  /** `logcapture_<program>_` prefixes every metric name. */
  program: string;
  /** `null` when healthy, else the reason it is not. */
  health: () => string | null;
  metrics: () => Record<string, Metric>;
  log: Logger;
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
  return Deno.serve({
    hostname: options.hostname,
    port: options.port,
    signal: options.signal,
    onListen: ({ hostname, port }) =>
      options.log.info(`status on http://${hostname}:${port}/healthz and /metrics`),
  }, (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/healthz") {
      const problem = options.health();
      return new Response(problem ? `unhealthy: ${problem}\n` : "ok\n", {
        status: problem ? 503 : 200,
      });
    }
    if (path === "/metrics") {
      return new Response(prometheusText(options.program, options.metrics()), {
        headers: { "Content-Type": "text/plain; version=0.0.4" },
      });
    }
    return new Response("not found: /healthz or /metrics\n", { status: 404 });
  });
}
