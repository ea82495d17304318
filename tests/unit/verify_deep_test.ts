/**
 * `verify --deep`'s comparisons (`lib/run/verify_deep.ts`): a feed document's CSV and rejected
 * count, a records document member by member; documents written with `null` members compare equal
 * to those written without them.
 */
import assert from "node:assert/strict";
import { feedDifference, recordDifference } from "../../lib/run/verify_deep.ts";
import { spysocketFormat } from "../../lib/format/line_format.ts";
import { ByteWriter } from "../../lib/base/bytes.ts";

const format = spysocketFormat({ columns: "classic" });
const REPORT =
  "07:04:42 02/15 V.1.2233 H.0.0 MT_LOCATION Lat/Lon:370620935/-763413842 [Valid] Adher:-1 [Valid] Odom:2668 [Valid] DGPS:On FOM:2\n";
const bytes = (text: string) => new TextEncoder().encode(text);

/** The records document `line` gives, as capture stores it. */
function storedRecord(line: string): Record<string, unknown> {
  const out = new ByteWriter(4096);
  const readAt = new Date("2026-03-01T00:00:00Z");
  format.records({ data: bytes(line), start: 0, readAt, oversized: null }, out, () => {
    out.ascii('{"_id":"rec:t:0:0000000000000000","line_offset":0,"line_end":1,');
  });
  return JSON.parse(new TextDecoder().decode(out.bytes()));
}

Deno.test("a records document is what its line gives; an edited member is named; null members (older documents) count as absent", () => {
  const stored = storedRecord(REPORT);
  assert.equal(recordDifference(bytes(REPORT), 0, stored, format), null);
  assert.equal(
    recordDifference(bytes(REPORT), 0, { ...stored, vehicle: "V.9.9" }, format),
    'vehicle is "V.9.9", the log gives "V.1.2233"',
  );
  // Written before null members were left out: the same document.
  const older = { ...stored, crossingTime: null, dwell: null, route: null, block: null };
  assert.equal(recordDifference(bytes(REPORT), 0, older, format), null);
  const rejected = storedRecord("not a report\n");
  assert.equal(recordDifference(bytes("not a report\n"), 0, rejected, format), null);
});

Deno.test("a feed document's CSV is what its range gives; the first differing line is named", () => {
  const out = new ByteWriter(4096);
  const timestamp = "2026-03-01T00:00:00Z";
  const data = bytes(REPORT + "not a report\n");
  format.csvRows({ data, start: 0, readAt: new Date(timestamp), oversized: null }, out);
  const csv = out.bytes().slice();
  assert.equal(feedDifference(data, 0, { csv, rejected: 1, timestamp }, format), null);
  assert.match(
    feedDifference(data, 0, { csv, rejected: 0, timestamp }, format) ?? "",
    /says 0 lines were rejected, the log gives 1/,
  );
  const edited = bytes(new TextDecoder().decode(csv).replace("V.1.2233", "V.1.2234"));
  assert.match(
    feedDifference(data, 0, { csv: edited, timestamp }, format) ?? "",
    /^CSV line 1 is ".*V\.1\.2234.*", the log gives ".*V\.1\.2233.*"$/,
  );
});
