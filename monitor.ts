/**
 * `monitor`: on the second host, stores each extract that capture hands over in CouchDB as CSV.
 * `monitor convert` re-processes old spysocket files into CSV on stdout.
 * Run `monitor --help` for the options.
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError } from "./lib/config.ts";
import { convertFiles } from "./lib/convert.ts";
import { COLUMN_SETS, type ColumnSet } from "./lib/csv.ts";
import { runMain } from "./lib/main.ts";

const CONVERT_USAGE = "usage: monitor convert [--year YYYY] [--columns classic|full] FILE...";
const encoder = new TextEncoder();

/** `monitor convert`: CSV of old files on stdout, the rejected count on stderr. */
async function convert(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        year: { type: "string" },
        columns: { type: "string", default: "classic" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError(
      `monitor convert: ${(error as Error).message.split("\n")[0]} (${CONVERT_USAGE})`,
    );
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(CONVERT_USAGE);
    return 0;
  }
  const year = values.year === undefined ? undefined : Number(values.year);
  if (year !== undefined && !(Number.isInteger(year) && year >= 1970 && year <= 9999)) {
    throw new UsageError(
      `monitor convert: --year must be a year such as 2012, got "${values.year}"`,
    );
  }
  if (!COLUMN_SETS.includes(values.columns as ColumnSet)) {
    throw new UsageError(
      `monitor convert: --columns must be classic or full, got "${values.columns}"`,
    );
  }
  if (positionals.length === 0) {
    throw new UsageError(`monitor convert: no FILE given (${CONVERT_USAGE})`);
  }
  const result = await convertFiles(
    positionals,
    { columns: values.columns as ColumnSet, year },
    async (text) => {
      const bytes = encoder.encode(text);
      for (let at = 0; at < bytes.length;) at += await Deno.stdout.write(bytes.subarray(at));
    },
  );
  for (const { file, line } of result.rejected.slice(0, 20)) {
    console.error(
      `monitor convert: ${file}: rejected line at offset ${line.offset}: ${line.reason}`,
    );
  }
  console.error(`monitor convert: ${result.rows} rows, ${result.rejected.length} rejected lines`);
  for (const { file, reason } of result.unreadable) {
    console.error(`monitor convert: cannot read ${file}: ${reason}`);
  }
  return result.unreadable.length > 0 ? 1 : 0;
}

await runMain("monitor", async () => {
  if (Deno.args[0] === "convert") return await convert(Deno.args.slice(1));
  throw new UsageError("monitor: only `monitor convert` is available in this version");
});
