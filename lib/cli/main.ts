/**
 * How both programs start and stop: a clear one-line error and exit code for every failure (2 for
 * usage and configuration, 1 for the rest), and signals: the first SIGTERM or SIGINT asks the program
 * to stop (it has 5 seconds), a second one exits at once; SIGHUP is said and survived.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { STOP_GRACE_MS } from "./main.ts";
 * // A program's main: `await runMain("capture", async (signal) => { ...; return 0; })` runs it,
 * // prints its error in one line and exits with its code (2 for a UsageError). A stopping program
 * // gets this long before it exits anyway, within systemd's default stop timeout.
 * assert.ok(STOP_GRACE_MS < 10_000);
 * ```
 * @module
 */
import { UsageError } from "../base/errors.ts";

let errorFormat: "text" | "json" = "text";

/** Makes the final error line JSON, like the log lines, when the program logs JSON. */
export function setErrorFormat(format: "text" | "json"): void {
  errorFormat = format;
}

/** How long a stopping program may take before it exits anyway. */
export const STOP_GRACE_MS = 4500;

/** Runs `main` and exits with its code; see the module doc. */
export async function runMain(
  program: string,
  main: (signal: AbortSignal) => Promise<number>,
): Promise<never> {
  const controller = new AbortController();
  let stopping = false;
  const stop = (name: Deno.Signal) => {
    if (stopping) Deno.exit(1);
    stopping = true;
    // The signal's name is the reason, for the stop summary.
    controller.abort(name);
    setTimeout(() => Deno.exit(0), STOP_GRACE_MS);
  };
  for (const name of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(name, () => stop(name));
  }
  // Services get SIGHUP to reopen their logs (logrotate's postrotate, `systemctl reload`); these
  // programs hold no log file open and rewrite their cache file whole, so there is nothing to
  // reopen: it is said, and the program carries on, where the default would kill it (exit 129).
  Deno.addSignalListener("SIGHUP", () => {
    const line = `${program}: SIGHUP: nothing to reopen (logs go to stderr); carrying on`;
    console.error(
      errorFormat === "json"
        ? JSON.stringify({ time: new Date().toISOString(), level: "info", msg: line })
        : line,
    );
  });
  let code: number;
  try {
    code = await main(controller.signal);
  } catch (error) {
    const message = (error as Error)?.message ?? String(error);
    const line = message.startsWith(`${program}:`) || message.startsWith(`${program} `)
      ? message
      : `${program}: ${message}`;
    console.error(
      errorFormat === "json"
        ? JSON.stringify({ time: new Date().toISOString(), level: "error", msg: line })
        : line,
    );
    code = error instanceof UsageError ? 2 : 1;
  }
  Deno.exit(code);
}
