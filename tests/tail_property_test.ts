/**
 * Model-based tests of the line scanner and of the capture loop over real files, in the manner of
 * Vector's file-source model tests: random sequences of appends, partial writes, too-long lines,
 * rotations, truncations, restarts and lost or corrupted cache files, checked against a simple
 * model of what the files held; and two captures handing extracts of one log to one monitor.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Batch } from "../lib/sink/batch.ts";
import { runCapture } from "../lib/run/capture_loop.ts";
import { CouchClient } from "../lib/sink/couchdb.ts";
import { extractSink } from "../lib/sink/handover.ts";
import { runMonitor } from "../lib/run/monitor_loop.ts";
import { BatchStore } from "../lib/sink/store.ts";
import { spysocketFormat } from "../lib/format/line_format.ts";
import { assertFeedOnce } from "./helpers.ts";
import type { BatchSink } from "../lib/sink/sink.ts";
import { LineScanner } from "../lib/source/lines.ts";
import { gzipSync } from "node:zlib";
import { createLogger } from "../lib/base/log.ts";
import { type FileIdentity, type FileRef, sameFile } from "../lib/source/identity.ts";

const encoder = new TextEncoder();
const silent = createLogger({ write: () => {} });

/** What a capture over a generation must have delivered: every whole line, once, in order. */
interface Delivered {
  start: number;
  end: number;
  data: Uint8Array | null; // null for an oversized line
}

/**
 * A sink that keeps what it is given, as CouchDB would, per generation, with the file each
 * generation came from: it can say where an earlier run left a file (`findPosition`), as CouchDB
 * does for a capture whose cache file is lost or does not fit the log.
 */
function memorySink(): BatchSink & { generations: Map<number, Delivered[]> } {
  const generations = new Map<number, Delivered[]>();
  const files = new Map<number, FileRef>();
  return {
    generations,
    store(batch: Batch) {
      const list = generations.get(batch.generation) ?? [];
      // What store.ts does with a batch that starts inside what is stored: only the rest goes.
      const stored = list.reduce((at, d) => Math.max(at, d.end), 0);
      if (batch.start < stored) {
        if (batch.end <= stored || batch.oversized) {
          return Promise.resolve({
            generation: batch.generation,
            end: Math.max(stored, batch.end),
          });
        }
        list.push({
          start: stored,
          end: batch.end,
          data: batch.data.slice(stored - batch.start),
        });
      } else {
        list.push({
          start: batch.start,
          end: batch.end,
          data: batch.oversized ? null : batch.data.slice(),
        });
      }
      generations.set(batch.generation, list);
      files.set(batch.generation, batch.source.file);
      return Promise.resolve({ generation: batch.generation, end: batch.end });
    },
    findPosition(_source: string, file: FileIdentity) {
      const held = [...files].filter(([, f]) => sameFile(f, file)).map(([g]) => g);
      if (held.length === 0) return Promise.resolve(null);
      const generation = Math.max(...held);
      const end = generations.get(generation)!.reduce((at, d) => Math.max(at, d.end), 0);
      return Promise.resolve({ generation, offset: end });
    },
  };
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

const lineArb = fc.stringMatching(/^[ -~]{0,60}$/).map((s) => s + "\n");

Deno.test("property: the scanner returns every whole line once, whatever the write boundaries", async () => {
  await fc.assert(
    fc.asyncProperty(
      // Each write is a few pieces; a number stands for a line at the limit, give or take two
      // bytes, where a check is off by one.
      fc.array(
        fc.array(
          fc.oneof(lineArb, fc.stringMatching(/^[ -~]{1,30}$/), fc.integer({ min: -2, max: 2 })),
          { minLength: 1, maxLength: 4 },
        ),
        { maxLength: 30 },
      ),
      fc.integer({ min: 8, max: 64 }),
      fc.integer({ min: 1, max: 3 }),
      // A buffer longer than the limit holds several lines, each of which is checked against it.
      fc.integer({ min: 16, max: 256 }),
      async (writes, maxLineBytes, readsPerWrite, bufferBytes) => {
        const path = await Deno.makeTempFile();
        try {
          using file = await Deno.open(path);
          const scanner = new LineScanner(file, 0, { maxLineBytes, bufferBytes });
          const got: string[] = [];
          const decoder = new TextDecoder();
          let written = "";
          for (const pieces of writes) {
            const w = pieces.map((p) =>
              typeof p === "number" ? "y".repeat(maxLineBytes + p) + "\n" : p
            ).join("");
            await Deno.writeTextFile(path, w, { append: true });
            written += w;
            for (let r = 0; r < readsPerWrite; r++) {
              for (let item = await scanner.next(); item; item = await scanner.next()) {
                if (item.kind === "lines") got.push(...decoder.decode(item.bytes).split(/(?<=\n)/));
                else got.push(`<oversized ${item.offset} ${item.length}>`);
              }
            }
          }
          // The model: whole lines in order; lines longer than the limit replaced by their marker.
          const whole = written.slice(0, written.lastIndexOf("\n") + 1);
          const expected: string[] = [];
          let offset = 0;
          for (const line of whole.split(/(?<=\n)/).filter(Boolean)) {
            expected.push(
              line.length - 1 > maxLineBytes ? `<oversized ${offset} ${line.length}>` : line,
            );
            offset += line.length;
          }
          assert.deepEqual(got, expected);
          assert.equal(scanner.position, whole.length);
        } finally {
          await Deno.remove(path);
        }
      },
    ),
    { numRuns: 150 },
  );
});

/** Some whole lines appended to the log. */
function appendArb(most: number): fc.Arbitrary<{ op: "lines"; lines: string[] }> {
  return fc.array(lineArb, { minLength: 1, maxLength: most }).map((lines) => ({
    op: "lines" as const,
    lines,
  }));
}

type Op =
  | { op: "lines"; lines: string[] }
  | { op: "partial"; text: string }
  | { op: "long" }
  | { op: "rotate" }
  | { op: "copytruncate" }
  | { op: "late"; lines: string[] }
  | { op: "copytruncate-behind" }
  | { op: "compress" }
  | { op: "replace-copy" }
  | { op: "restore-cache"; back: number }
  | { op: "run" }
  | { op: "lose-cache" }
  | { op: "corrupt-cache"; how: "inside-line" | "past-end" | "behind" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: appendArb(8) },
  {
    weight: 2,
    arbitrary: fc.stringMatching(/^[ -~]{1,20}$/).map((text) => ({ op: "partial" as const, text })),
  },
  { weight: 1, arbitrary: fc.constant({ op: "long" as const }) },
  { weight: 1, arbitrary: fc.constant({ op: "rotate" as const }) },
  { weight: 1, arbitrary: fc.constant({ op: "copytruncate" as const }) },
  // A writer that goes on writing to the renamed file, until it reopens the log.
  { weight: 1, arbitrary: appendArb(4).map(({ lines }) => ({ op: "late" as const, lines })) },
  { weight: 1, arbitrary: fc.constant({ op: "copytruncate-behind" as const }) },
  { weight: 1, arbitrary: fc.constant({ op: "compress" as const }) },
  { weight: 1, arbitrary: fc.constant({ op: "replace-copy" as const }) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1, max: 4 }).map((back) => ({
      op: "restore-cache" as const,
      back,
    })),
  },
  { weight: 3, arbitrary: fc.constant({ op: "run" as const }) },
  { weight: 1, arbitrary: fc.constant({ op: "lose-cache" as const }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom("inside-line", "past-end", "behind").map((how) => ({
      op: "corrupt-cache" as const,
      how,
    })),
  },
);

Deno.test("property: capture with restarts, rotations and truncations delivers every whole line exactly once", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(opArb, { minLength: 1, maxLength: 25 }),
      // Batch sizes vary from run to run (a restart with other settings cuts batches elsewhere).
      fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
      async (ops, batchSizes) => {
        const dir = await Deno.makeTempDir();
        const path = `${dir}/app.log`;
        const cachePath = `${dir}/app.cache.json`;
        const sink = memorySink();
        const MAX = 100;
        // The model: the content of every generation, in order.
        const generations: string[] = [""];
        // Rotations since the last run; a file rotated before capture ever saw it is not its history.
        let rotatedSinceRun = 2;
        // logrotate's numbering: .1 is the newest; each rotation moves every file one up.
        const shiftRotated = async () => {
          const numbered = [...Deno.readDirSync(dir)]
            .map((e) => /^app\.log\.(\d+)(\.gz)?$/.exec(e.name))
            .filter((m) => m !== null)
            .sort((a, b) => Number(b![1]) - Number(a![1]));
          for (const m of numbered) {
            await Deno.rename(`${dir}/${m![0]}`, `${path}.${Number(m![1]) + 1}${m![2] ?? ""}`);
          }
        };
        let runs = 0;
        let longLines = 0;
        // The file at the path is a copy of the file first seen there (until a new file comes).
        let replaced = false;
        // A copy rotated away since the last run: the cache file names an inode that is gone, so
        // capture tells the new files from it by their text alone (SPEC §3). Real lines begin with
        // a time stamp, so a new file's first bytes differ from the old; generated ones may not
        // ("\n" alone), and each new file gets a stamp first.
        let textOnlySinceRun = false;
        // The file the last rotation renamed, while its writer may still write to it.
        let renamed: { name: string; generation: number } | null = null;
        // The cache file after each run, to set it back to.
        const savedCaches: string[] = [];
        const capture = () => {
          textOnlySinceRun = false;
          return runCapture(
            {
              path,
              source: "t",
              cachePath,
              target: "the in-memory model",
              sink,
              from: "start",
              once: true,
              flushMs: 1,
              batchLines: batchSizes[runs++ % batchSizes.length],
              batchBytes: 256,
              maxLineBytes: MAX,
              pollMs: 10,
              // The late writer writes while capture is stopped: nothing to wait for in a run.
              rotateWaitMs: 0,
            },
            silent,
            new AbortController().signal,
          ).then(async (code) => {
            renamed = null;
            const saved = await Deno.readTextFile(cachePath).catch(() => null);
            if (saved) savedCaches.push(saved);
            return code;
          });
        };
        const write = async (text: string) => {
          if (textOnlySinceRun && generations[generations.length - 1] === "") {
            text = `#generation ${generations.length - 1} ${crypto.randomUUID()}\n${text}`;
          }
          await Deno.writeFile(path, encoder.encode(text), { append: true, create: true });
          generations[generations.length - 1] += text;
        };
        // logrotate's copytruncate: the file copied to .1, then truncated, goes on as the next
        // generation. Real lines begin with a time stamp, so its new first bytes differ from the
        // old. No rotation follows before the next run.
        const copyTruncate = async () => {
          await shiftRotated();
          await Deno.copyFile(path, `${path}.1`);
          await Deno.truncate(path, 0);
          generations.push("");
          replaced = false;
          await write(`#generation ${generations.length - 1} ${crypto.randomUUID()}\n`);
          rotatedSinceRun = 2;
          renamed = null;
        };
        const completePartial = async () => {
          const current = generations[generations.length - 1];
          if (current.length > 0 && !current.endsWith("\n")) await write("\n");
        };
        try {
          await Deno.writeTextFile(path, "");
          for (const step of ops) {
            switch (step.op) {
              case "lines":
                await write(step.lines.join(""));
                break;
              case "partial":
                await write(step.text);
                break;
              case "long": {
                // Real lines begin with a time stamp: two files of long lines alone are still two
                // texts (SPEC §3 knows a file by its text; two of one text are one file).
                const stamp = `${++longLines} `;
                await write(stamp + "L".repeat(MAX + 50 - stamp.length) + "\n");
                break;
              }
              case "rotate":
                if (rotatedSinceRun >= 2) break; // up to two rotations between runs are recovered
                // Rotated files are told apart by modification time: not within one clock tick.
                await new Promise((r) => setTimeout(r, 15));
                await shiftRotated();
                await Deno.rename(path, `${path}.1`);
                renamed = { name: `${path}.1`, generation: generations.length - 1 };
                await Deno.writeTextFile(path, "");
                generations.push("");
                textOnlySinceRun ||= replaced;
                replaced = false;
                rotatedSinceRun++;
                break;
              case "late": {
                // One daemon: it writes to the renamed file until it reopens the log, and to the
                // new file only after that.
                const late = renamed as { name: string; generation: number } | null;
                if (!late || generations[generations.length - 1] !== "") break;
                const text = step.lines.join("");
                await Deno.writeTextFile(late.name, text, { append: true });
                generations[late.generation] += text;
                break;
              }
              case "copytruncate-behind":
                // logrotate's copytruncate while capture is stopped with lines unread: the copy
                // holds them, and the truncated file goes on as the next generation.
                if (rotatedSinceRun > 0 || generations[generations.length - 1] === "") break;
                await completePartial();
                await new Promise((r) => setTimeout(r, 15));
                await copyTruncate();
                break;
              case "compress": {
                // logrotate's compress: a rotated file replaced by its gzip, its time kept.
                const name = `${path}.1`;
                const info = await Deno.stat(name).catch(() => null);
                if (!info || renamed) break;
                await Deno.writeFile(`${name}.gz`, gzipSync(await Deno.readFile(name)));
                await Deno.utime(`${name}.gz`, info.atime!, info.mtime!);
                await Deno.remove(name);
                break;
              }
              case "replace-copy": {
                // The log replaced by a copy of itself (cp, then mv over it; sed -i; a restore).
                // Known by the text the cache file keeps of it; without a cache file, CouchDB
                // knows a file by the inode it was first seen with, and a copy is a new file.
                // And a cache file that knew the file by its inode alone (no whole line yet) does
                // not know a copy of it either.
                const cached = JSON.parse(await Deno.readTextFile(cachePath).catch(() => "null"));
                if (!cached?.file?.id) break;
                await Deno.copyFile(path, `${dir}/copy`);
                await Deno.rename(`${dir}/copy`, path);
                replaced = true;
                break;
              }
              case "restore-cache": {
                // The cache file set back to an older copy (a restore from a backup).
                if (rotatedSinceRun !== 0 || savedCaches.length < 2) break;
                const older = savedCaches[Math.max(0, savedCaches.length - 1 - step.back)];
                // A cache file that knew its file by the inode alone (no whole line yet) cannot
                // tell, set back, which of the files since is that one: not modelled.
                if (!JSON.parse(older).file.id || replaced) break;
                await Deno.writeTextFile(cachePath, older);
                rotatedSinceRun = 2; // until the next run: no rotation
                break;
              }
              case "copytruncate":
                if (rotatedSinceRun > 0 || generations[generations.length - 1] === "") break;
                await completePartial();
                assert.equal(await capture(), 0);
                await copyTruncate();
                break;
              case "run":
                assert.equal(await capture(), 0);
                rotatedSinceRun = 0;
                break;
              // The cache file lost, or changed to disagree with the log, right after a run: the
              // sink (CouchDB) says where the file stands. Lines of a file rotated away before the
              // next run could not be found without it, so no rotation follows until then.
              case "lose-cache":
              case "corrupt-cache": {
                if (rotatedSinceRun !== 0) break;
                const saved = JSON.parse(await Deno.readTextFile(cachePath).catch(() => "null"));
                // Where CouchDB holds nothing of the file, its generation number cannot be told.
                if (!saved || !sink.generations.get(saved.generation)?.length) break;
                // The model's sink finds a file by its generation; the cache file names the file
                // before an empty one at the path, whose number it cannot tell.
                if (saved.generation !== generations.length - 1) break;
                if (replaced) break; // see replace-copy
                if (step.op === "lose-cache") await Deno.remove(cachePath);
                else {
                  const text = encoder.encode(generations[saved.generation] ?? "");
                  const offset = step.how === "past-end"
                    ? saved.offset + 1000
                    : step.how === "behind"
                    ? text.subarray(0, Math.max(0, saved.offset - 1)).lastIndexOf(10) + 1
                    : saved.offset - 1;
                  // Inside a line only where the byte before is not a newline.
                  if (step.how === "inside-line" && (offset < 1 || text[offset - 1] === 10)) break;
                  await Deno.writeTextFile(cachePath, JSON.stringify({ ...saved, offset }));
                }
                rotatedSinceRun = 2; // until the next run: no rotation
                break;
              }
            }
          }
          await completePartial();
          assert.equal(await capture(), 0);
          assert.equal(await capture(), 0); // nothing new: nothing more delivered
          // The files with something to capture, in order, against the stored generations in
          // order of their numbers: a number may hold nothing (an empty file, or one found gone
          // while stopped), never the lines of two files, and never a line twice.
          const bytes = generations.map((g) => encoder.encode(g));
          const stored = [...sink.generations.keys()].sort((a, b) => a - b)
            .filter((g) => sink.generations.get(g)!.length > 0);
          let next = 0;
          for (let g = 0; g < bytes.length; g++) {
            const text = generations[g];
            const wholeEnd = encoder.encode(text.slice(0, text.lastIndexOf("\n") + 1)).length;
            // A rotated generation is captured to its end; a truncated one up to its last newline.
            if (bytes[g].length === 0 || (wholeEnd === 0 && g < bytes.length - 1)) {
              const number = stored[next];
              const first = number === undefined ? null : sink.generations.get(number)![0];
              // A lone partial line of a rotated file may be stored, or left with its file.
              if (!first || first.start !== 0 || !first.data || bytes[g].length === 0) continue;
              if (!equal(first.data, bytes[g].subarray(0, first.end))) continue;
            }
            const number = stored[next++];
            assert.ok(
              number !== undefined,
              `generation ${g} (${bytes[g].length} bytes): nothing stored`,
            );
            let at = 0;
            for (const d of sink.generations.get(number)!) {
              assert.equal(
                d.start,
                at,
                `generation ${g} (${number}): batch at ${d.start}, expected ${at}`,
              );
              if (d.data) assert.deepEqual(d.data, bytes[g].subarray(d.start, d.end));
              else assert.ok(d.end - d.start > MAX, "only too-long lines come as oversized");
              at = d.end;
            }
            assert.ok(
              at === bytes[g].length || at === wholeEnd,
              `generation ${g} (${number}): captured to ${at} of ${bytes[g].length}`,
            );
            if (g === bytes.length - 1) assert.equal(at, bytes[g].length);
          }
          assert.equal(next, stored.length, "no extra generation");
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      },
    ),
    { numRuns: 200 },
  );
});

type HandOp =
  | { op: "lines"; lines: string[] }
  | { op: "extract"; writer: 0 | 1 }
  | { op: "lose-cache"; writer: 0 | 1 }
  | { op: "monitor" };

const handOpArb: fc.Arbitrary<HandOp> = fc.oneof(
  { weight: 4, arbitrary: appendArb(12) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(0, 1).map((writer) => ({ op: "extract" as const, writer })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(0, 1).map((writer) => ({ op: "lose-cache" as const, writer })),
  },
  { weight: 2, arbitrary: fc.constant({ op: "monitor" as const }) },
);

Deno.test("property: two captures handing extracts of one log to one drop directory, cache files lost between runs, and the monitor store every line once", async () => {
  const server = Deno.env.get("COUCHDB_URL")?.replace(/\/+$/, "");
  assert.ok(server, "COUCHDB_URL is not set: run the tests with `deno task test`");
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(handOpArb, { minLength: 1, maxLength: 14 }),
      fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 })),
      async (ops, batchLines) => {
        const dir = await Deno.makeTempDir();
        const path = `${dir}/app.log`;
        const drop = `${dir}/drop`;
        await Deno.mkdir(drop);
        const db = `${server}/lc_model_${Date.now().toString(36)}_${run++}`;
        const caches = [`${dir}/a.cache.json`, `${dir}/b.cache.json`];
        const extract = (writer: 0 | 1) =>
          runCapture(
            {
              path,
              source: "t",
              cachePath: caches[writer],
              target: drop,
              sink: extractSink({ extractDir: drop, maxPendingBytes: 1 << 30, log: silent }),
              from: "start",
              once: true,
              flushMs: 1,
              batchLines: batchLines[writer],
              batchBytes: 1 << 20,
              maxLineBytes: 1000,
              pollMs: 10,
            },
            silent,
            new AbortController().signal,
          );
        // A new client each time: what a monitor knows of CouchDB goes with its process.
        const monitor = async () => {
          const client = new CouchClient({ url: db });
          await client.ensureDatabase();
          const format = spysocketFormat({ columns: "classic", year: 2012 });
          const store = new BatchStore(client, { mode: "feed", format, fromExtracts: true });
          return await runMonitor(
            {
              dir: drop,
              once: true,
              done: "keep",
              store: (batch) => store.store(batch),
              maxLineBytes: 1000,
              batchLines: 1000,
              pollMs: 10,
            },
            silent,
            new AbortController().signal,
          );
        };
        try {
          await Deno.writeTextFile(path, "");
          for (const step of ops) {
            if (step.op === "lines") {
              await Deno.writeTextFile(path, step.lines.join(""), { append: true });
            } else if (step.op === "extract") assert.equal(await extract(step.writer), 0);
            else if (step.op === "lose-cache") {
              await Deno.remove(caches[step.writer]).catch(() => {});
            } else assert.equal(await monitor(), 0);
          }
          assert.equal(await extract(0), 0);
          assert.equal(await monitor(), 0);
          await assertFeedOnce(db, await Deno.readFile(path));
        } finally {
          await fetch(db, { method: "DELETE" }).then((r) => r.body?.cancel(), () => {});
          await Deno.remove(dir, { recursive: true });
        }
      },
    ),
    { numRuns: 25 },
  );
});
