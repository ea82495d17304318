/**
 * What `/healthz` says: named checks, each healthy (`null`) or with the reason it is not, so that
 * the answer lists each one; and a probe that asks the sink (CouchDB, the receiver, the drop
 * directory) on a timer, so that a sink gone away shows while the log is quiet too, when no batch
 * would have met it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Health } from "./health.ts";
 * const health = new Health();
 * health.add("log", () => null);
 * health.add("couchdb", () => "CouchDB at http://couch:5984 does not answer");
 * assert.deepEqual(health.report(), {
 *   healthy: false,
 *   checks: { log: "ok", couchdb: "CouchDB at http://couch:5984 does not answer" },
 * });
 * ```
 * @module
 */
import { sleep } from "../base/backoff.ts";

/** Every check's verdict: "ok", or why not. */
export interface HealthReport {
  /** Whether every check passes. */
  healthy: boolean;
  /** Each check's state in words, by name. */
  checks: Record<string, string>;
}

/** The named checks of a running program. See the module example. */
export class Health {
  readonly #checks: [string, () => string | null][] = [];

  /** Adds a check: `null` when healthy, else the reason. */
  add(name: string, check: () => string | null): void {
    this.#checks.push([name, check]);
  }

  /** What every check says now. */
  report(): HealthReport {
    const checks: Record<string, string> = {};
    let healthy = true;
    for (const [name, check] of this.#checks) {
      const problem = check();
      if (problem) healthy = false;
      checks[name] = problem ?? "ok";
    }
    return { healthy, checks };
  }

  /** The first reason it is not healthy, or `null`. */
  problem(): string | null {
    for (const [, check] of this.#checks) {
      const problem = check();
      if (problem) return problem;
    }
    return null;
  }
}

/**
 * Asks `probe` every `everyMs` until `signal` aborts: the last answer (`null`: fine) is what
 * `failing()` says. One short request a few seconds, whether or not batches flow.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Prober } from "./health.ts";
 * const stop = new AbortController();
 * const prober = new Prober(() => Promise.resolve("no answer"), 10, stop.signal);
 * await prober.once();
 * assert.equal(prober.failing(), "no answer");
 * stop.abort();
 * ```
 */
export class Prober {
  readonly #probe: () => Promise<string | null>;
  #failing: string | null = null;

  /** Starts probing at once, then every `everyMs`. */
  constructor(probe: () => Promise<string | null>, everyMs: number, signal: AbortSignal) {
    this.#probe = probe;
    (async () => {
      while (!signal.aborted) {
        await this.once();
        await sleep(everyMs, signal);
      }
    })();
  }

  /** Probes now. */
  async once(): Promise<void> {
    this.#failing = await this.#probe().catch((error) => (error as Error).message);
  }

  /** Why the last probe failed, or `null`. */
  failing(): string | null {
    return this.#failing;
  }
}

/** How often the sink is asked whether it answers, whether or not batches flow. */
export const SINK_PROBE_MS = 5_000;

/** What {@linkcode sinkCheck} asks of the sink. */
export interface SinkState {
  /** Where it stores, for messages: a CouchDB URL, a drop directory, a receiver. */
  target(): string;
  /** Whether it is set up (CouchDB has answered once); before that, it is connecting. */
  ready(): boolean;
  /** Whether its requests are failing and being retried now. */
  outage(): boolean;
  /** One quick look, never retried (`BatchSink.probe`): `null` when it answers. */
  probe(): Promise<string | null>;
  /** The last failure to store a batch, if any. */
  failing?(): string | null;
}

/**
 * The `/healthz` check of a sink, for capture and the monitor alike: connecting until it is set
 * up, then its outage, what the last probe (every {@linkcode SINK_PROBE_MS}) met, or the last
 * failed store.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sinkCheck } from "./health.ts";
 * const stop = new AbortController();
 * const check = sinkCheck({
 *   target: () => "http://couch:5984/hrtfeed",
 *   ready: () => false,
 *   outage: () => false,
 *   probe: () => Promise.resolve(null),
 * }, stop.signal);
 * assert.equal(check(), "connecting to http://couch:5984/hrtfeed");
 * stop.abort();
 * ```
 */
export function sinkCheck(sink: SinkState, signal: AbortSignal): () => string | null {
  const prober = new Prober(
    () => sink.ready() ? sink.probe() : Promise.resolve(null),
    SINK_PROBE_MS,
    signal,
  );
  return () =>
    !sink.ready()
      ? `connecting to ${sink.target()}`
      : sink.outage()
      ? `CouchDB at ${sink.target()} does not answer`
      : prober.failing() ?? sink.failing?.() ?? null;
}
