/**
 * How a program of this project is started from another one (tests, benchmarks, the demo): with
 * `deno run` and its permission set from deno.json, the same flags `deno compile` builds in.
 *
 * @example
 * ```ts
 * import { denoRunArgs } from "./deno_run.ts";
 * new Deno.Command(Deno.execPath(), { args: denoRunArgs("capture", "capture.ts", ["--once", "app.log"]) });
 * ```
 * @module
 */
import { join } from "node:path";

const ROOT = join(import.meta.dirname!, "..");

/**
 * Runtime flags of the two programs, compiled in by the build and given to `deno run` by the tasks
 * (deno.json, checked by a test) and the tests.
 * - A young generation of 1 MB, not V8's default of up to 32: capture makes little garbage, so a
 *   large young generation is rarely collected, and fetch's buffers waited in it. Measured catching
 *   up a 1 GB log: peak RSS 84 → 75 MB, CPU the same.
 * - No V8 code cache. A compiled program would otherwise write one into the temporary directory at
 *   its first start (`deno-compile-capture.cache`): a file on the production host that no setting
 *   names. It only saves start-up time, once, for a service that runs for months. Under `deno run`
 *   the cache is a database in DENO_DIR held in memory: capture shipping over HTTPS peaked at 68
 *   MB with it and 66 without, start-up CPU the same.
 */
export const RUNTIME_FLAGS = ["--v8-flags=--max-semi-space-size=1", "--no-code-cache"];

/**
 * The permissions of the programs, given as flags (compiled in by the build, given to `deno run` by
 * the tasks, checked by a test, and the tests): the files it is told of, the network, the
 * environment, the host name; nothing else (no subprocess, no FFI). As flags, not as deno.json's
 * permission sets, which Deno warns of as experimental on every run.
 */
export const PERMISSIONS: Record<"capture" | "monitor" | "tools", string[]> = {
  capture: ["--allow-read", "--allow-write", "--allow-net", "--allow-env", "--allow-sys=hostname"],
  monitor: ["--allow-read", "--allow-write", "--allow-net", "--allow-env", "--allow-sys=hostname"],
  tools: ["-A"],
};

/** `deno run` arguments for `script` (relative to the project) under a permission set. */
export function denoRunArgs(
  permissionSet: "capture" | "monitor" | "tools",
  script: string,
  args: string[],
): string[] {
  return [
    "run",
    "--quiet",
    "--config",
    join(ROOT, "deno.json"),
    ...PERMISSIONS[permissionSet],
    ...(permissionSet === "tools" ? [] : RUNTIME_FLAGS),
    join(ROOT, script),
    ...args,
  ];
}

/** The arguments given after `deno task NAME`: `deno task bench -- --quick` passes the `--` on too. */
export function taskArgs(): string[] {
  return Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args;
}
