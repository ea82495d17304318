import { UsageError } from "../../lib/base/errors.ts";
import assert from "node:assert/strict";
import {
  closestName,
  helpText,
  type OptionSpec,
  printableConfig,
  readConfigFile,
  resolveOptions,
} from "../../lib/cli/config.ts";

const SPECS: OptionSpec[] = [
  { key: "config", flag: "config", type: "string", flagOnly: true, help: "settings file" },
  {
    key: "flushMs",
    flag: "flush",
    aliases: ["flush-ms"],
    type: "duration",
    min: 1,
    default: 50,
    section: "batching",
    help: "how long a line may wait before it is sent",
  },
  {
    key: "batchLines",
    flag: "batch-lines",
    type: "integer",
    min: 1,
    section: "batching",
    help: "most lines in a batch",
  },
  {
    key: "couchdb",
    flag: "couchdb",
    type: "string",
    env: "LC_TEST_URL",
    placeholder: "URL",
    help: "the database",
  },
  { key: "retryForMs", flag: "retry-for", type: "duration", forever: true, help: "retry time" },
];

async function withFile(json: unknown, fn: (path: string) => Promise<void>): Promise<void> {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(path, JSON.stringify(json));
    await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("a flag wins over the environment, which wins over the file; each value says where it came from", async () => {
  await withFile({ flushMs: "2s", batchLines: 10, couchdb: "http://file/db" }, async (path) => {
    Deno.env.set("LC_TEST_URL", "http://env/db");
    try {
      const { options, origins } = await resolveOptions("t", SPECS, [
        "--config",
        path,
        "--batch-lines",
        "20",
      ]);
      assert.deepEqual([options.flushMs, options.batchLines, options.couchdb], [
        2000,
        20,
        "http://env/db",
      ]);
      assert.deepEqual(origins, {
        config: "--config",
        flushMs: `file ${path}`,
        batchLines: "--batch-lines",
        couchdb: "$LC_TEST_URL",
      });
    } finally {
      Deno.env.delete("LC_TEST_URL");
    }
  });
  const { options, origins } = await resolveOptions("t", SPECS, ["--flush-ms", "300"]);
  assert.equal(options.flushMs, 300);
  assert.equal(origins.flushMs, "--flush-ms");
  assert.equal(
    (await resolveOptions("t", SPECS, ["--retry-for", "forever"])).options.retryForMs,
    Infinity,
  );
});

Deno.test("a file's values must have their type: text is not a number there, as it is in a flag", async () => {
  await withFile({ batchLines: "100" }, async (path) => {
    await assert.rejects(
      readConfigFile(path, SPECS),
      /"batchLines" must be a positive integer, got "100"/,
    );
  });
  await withFile({ flushMs: 250 }, async (path) => {
    assert.deepEqual(await readConfigFile(path, SPECS), { flushMs: 250 });
  });
  await withFile({ flushMs: "250" }, async (path) => {
    await assert.rejects(readConfigFile(path, SPECS), UsageError);
  });
  await withFile({ $origin: { flushMs: "default" }, flushMs: "1m" }, async (path) => {
    assert.deepEqual(await readConfigFile(path, SPECS), { flushMs: 60_000 });
  });
});

Deno.test("a misspelt flag or key is met with the one that was meant, when one is close", async () => {
  await assert.rejects(
    resolveOptions("t", SPECS, ["--batch-line", "3"]),
    /^UsageError: t: unknown option --batch-line; did you mean --batch-lines\? \(see t --help\)$/,
  );
  await assert.rejects(resolveOptions("t", SPECS, ["--colour"]), /unknown option --colour \(see/);
  await withFile({ batch_lines: 3 }, async (path) => {
    await assert.rejects(
      readConfigFile(path, SPECS),
      /unknown key "batch_lines"; did you mean "batchLines"\?/,
    );
  });
  assert.equal(closestName("FlushMS", ["flushMs", "batchLines"]), "flushMs");
  assert.equal(closestName("x", ["flushMs"]), null);
});

Deno.test("help: sections in the order given, typed placeholders, defaults in units, no line past 99 columns", () => {
  const text = helpText("t [options]", SPECS, "examples:\n  t", ["batching", "options"]);
  assert.ok(text.indexOf("batching:") < text.indexOf("options:"));
  assert.match(
    text,
    /--flush DURATION +how long a line may wait before it is sent \(default: 50ms\)/,
  );
  assert.match(text, /--couchdb URL +the database/);
  assert.match(text, /--batch-lines N +most lines/);
  assert.doesNotMatch(text, /flush-ms/, "aliases are not listed");
  assert.deepEqual(text.split("\n").filter((l) => l.length > 99), []);
});

Deno.test("printed settings redact a URL's password and say where each came from", () => {
  const printed = JSON.parse(
    printableConfig(SPECS, { couchdb: "http://u:pw@h/db", flushMs: 50, retryForMs: Infinity }, {
      couchdb: "--couchdb",
    }),
  );
  assert.deepEqual(printed, {
    flushMs: 50,
    couchdb: "http://u:***@h/db",
    retryForMs: "forever",
    $origin: { flushMs: "default", couchdb: "--couchdb", retryForMs: "default" },
  });
});
