import assert from "node:assert/strict";
import { parseArgs } from "node:util";
import fc from "fast-check";
import { FlagError, parseFlags } from "../../lib/cli/flags.ts";

const test = Deno.test;

const FLAGS = {
  flush: { type: "string" },
  once: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
  quiet: { type: "boolean", short: "q" },
  mode: { type: "string", short: "t" },
  rotated: { type: "string", multiple: true },
} as const;

/** The problem parseArgs's error names, with the flag it quotes for an unknown one. */
function nodeProblem(error: Error): string {
  if (/^Unknown option/.test(error.message)) {
    return `unknown ${/'(-[^' ]*)'/.exec(error.message)?.[1]}`;
  }
  if (/argument missing/.test(error.message)) return "missing value";
  if (/does not take an argument/.test(error.message)) return "no value taken";
  if (/ambiguous/.test(error.message)) return "dash value";
  throw error;
}

/** Arguments made of what matters: flags long and short, grouped, inline values, dashes, words. */
const argument = fc.constantFrom(
  "--flush",
  "--flush=2s",
  "--flush=",
  "--flush=-1",
  "--once",
  "--once=yes",
  "--rotated",
  "--rotated=a*",
  "--bogus",
  "--=x",
  "---x",
  "-v",
  "-q",
  "-vq",
  "-vt",
  "-tfeed",
  "-t",
  "-x",
  "-vx",
  "-",
  "--",
  "-5",
  "app.log",
  "2s",
  "",
);

test("flags: the same values, positionals and refusals as parseArgs (strict) on any command line", () => {
  fc.assert(
    fc.property(fc.array(argument, { maxLength: 7 }), (args) => {
      let expected: { values: object; positionals: string[] } | string;
      try {
        const parsed = parseArgs({ args, options: FLAGS, allowPositionals: true, strict: true });
        expected = { values: { ...parsed.values }, positionals: parsed.positionals };
      } catch (error) {
        expected = nodeProblem(error as Error);
      }
      let actual: { values: object; positionals: string[] } | string;
      try {
        actual = parseFlags(args, FLAGS);
      } catch (error) {
        if (!(error instanceof FlagError)) throw error;
        actual = error.problem === "unknown" ? `unknown ${error.flag}` : error.problem;
      }
      assert.deepEqual(actual, expected, JSON.stringify(args));
    }),
    { numRuns: 5000 },
  );
});

test("flags: each refusal names the flag as written, and says the fix", () => {
  const message = (args: string[]) => {
    try {
      parseFlags(args, FLAGS);
    } catch (error) {
      return (error as Error).message;
    }
    return "";
  };
  assert.equal(message(["--bogus=1"]), "unknown option --bogus");
  assert.equal(message(["-vx"]), "unknown option -x");
  assert.equal(message(["--flush"]), "option --flush needs a value");
  assert.equal(message(["--once=yes"]), "option --once takes no value");
  assert.equal(
    message(["-t", "--once"]),
    "option -t needs a value, not the option --once (write --mode=--once if that is the value)",
  );
});
