/**
 * Command-line flags read as `node:util`'s `parseArgs` reads them in strict mode with positionals
 * allowed: `--name value`, `--name=value`, `-n value`, `-nvalue`, `-abc` for switches, `--` before
 * positionals only. Our own, because the first `node:` module a program loads starts Deno's Node
 * layer (11 MB and 30 ms of CPU at each start of capture; see `lib/base/sha256.ts`), which capture
 * in tail-only mode has no other use for. Checked against `parseArgs` on random command lines
 * (`tests/unit/flags_test.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FlagError, parseFlags } from "./flags.ts";
 * const flags = {
 *   flush: { type: "string" },
 *   once: { type: "boolean" },
 *   verbose: { type: "boolean", short: "v" },
 *   rotated: { type: "string", multiple: true },
 * } as const;
 * const parsed = parseFlags(["--flush=2s", "-v", "--rotated", "a*", "--rotated", "b*", "app.log"], flags);
 * assert.deepEqual(parsed.values, { flush: "2s", verbose: true, rotated: ["a*", "b*"] });
 * assert.deepEqual(parsed.positionals, ["app.log"]);
 * assert.throws(() => parseFlags(["--flush"], flags), FlagError);
 * ```
 * @module
 */

/** A flag: whether it takes a value, its one-letter form, and whether its values are gathered. */
export interface FlagSpec {
  /** `string`: it takes a value; `boolean`: a switch, true when given. */
  type: "string" | "boolean";
  /** The one-letter form, given as `-x`. */
  short?: string;
  /** Every value given is kept, in order (a `string` flag); else the last one. */
  multiple?: boolean;
}

/** The flags given, by name, and the other arguments in order. */
export interface ParsedFlags {
  /** A switch's `true`, a flag's value, or a gathered flag's values. */
  values: Record<string, string | boolean | string[]>;
  /** The arguments that are not flags: those that do not start with `-`, and all after `--`. */
  positionals: string[];
}

/** Why a command line was refused. */
export type FlagProblem = "unknown" | "missing value" | "no value taken" | "dash value";

/** A command line that cannot be read: the problem, the flag as written, and a one-line message. */
export class FlagError extends Error {
  /** What is wrong. */
  readonly problem: FlagProblem;
  /** The flag as written: `--flush`, `-v`. */
  readonly flag: string;

  /**
   * An error for `flag`. A `dash value` problem names the value it was given, and the flag's long
   * name for the fix (`--name=-value`: the one form that gives a value starting with a dash).
   */
  constructor(problem: FlagProblem, flag: string, dashValue?: { value: string; name: string }) {
    super(FlagError.#say(problem, flag, dashValue));
    this.name = "FlagError";
    this.problem = problem;
    this.flag = flag;
  }

  static #say(problem: FlagProblem, flag: string, dash?: { value: string; name: string }): string {
    switch (problem) {
      case "unknown":
        return `unknown option ${flag}`;
      case "missing value":
        return `option ${flag} needs a value`;
      case "no value taken":
        return `option ${flag} takes no value`;
      case "dash value":
        return `option ${flag} needs a value, not the option ${dash?.value} (write --${dash?.name}=${dash?.value} if that is the value)`;
    }
  }
}

/** Reads `args` against `flags`, by name without `--`; throws a {@linkcode FlagError}. */
export function parseFlags(
  args: readonly string[],
  flags: Readonly<Record<string, FlagSpec>>,
): ParsedFlags {
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(flags)) if (spec.short) byShort.set(spec.short, name);
  const values: ParsedFlags["values"] = {};
  const positionals: string[] = [];
  let next = 0;
  /** Sets flag `name`, written `written`, from its inline value, or else the next argument. */
  const take = (name: string, written: string, inline: string | undefined): void => {
    const spec = flags[name];
    if (spec.type === "boolean") {
      if (inline !== undefined) throw new FlagError("no value taken", written);
      values[name] = true;
      return;
    }
    if (inline === undefined && next >= args.length) throw new FlagError("missing value", written);
    const value = inline ?? args[next++];
    // `--couchdb --once` is a forgotten value far more often than a value of "--once".
    if (inline === undefined && value.length > 1 && value.startsWith("-")) {
      throw new FlagError("dash value", written, { value, name });
    }
    if (!spec.multiple) values[name] = value;
    else values[name] = [...(values[name] as string[] | undefined) ?? [], value];
  };
  while (next < args.length) {
    const arg = args[next++];
    if (arg === "--") {
      positionals.push(...args.slice(next));
      break;
    }
    if (arg.startsWith("--")) {
      // As parseArgs: the name has at least one character, so "--=x" is the name "=x".
      const equals = arg.indexOf("=", 3);
      const name = arg.slice(2, equals === -1 ? undefined : equals);
      if (!Object.hasOwn(flags, name)) throw new FlagError("unknown", `--${name}`);
      take(name, `--${name}`, equals === -1 ? undefined : arg.slice(equals + 1));
    } else if (arg.length > 1 && arg.startsWith("-")) {
      // Switches may be grouped (-abc); a flag that takes a value takes the rest as it (-fVALUE).
      for (let at = 1; at < arg.length; at++) {
        const name = byShort.get(arg[at]);
        if (name === undefined) throw new FlagError("unknown", `-${arg[at]}`);
        if (flags[name].type === "boolean") {
          values[name] = true;
          continue;
        }
        take(name, `-${arg[at]}`, at + 1 < arg.length ? arg.slice(at + 1) : undefined);
        break;
      }
    } else positionals.push(arg);
  }
  return { values, positionals };
}
