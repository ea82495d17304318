/**
 * The tailer in-process, one rotation case at a time: what it reads, and the events it tells of
 * (what capture logs and counts). Each case has its end-to-end twin in tests/capture_test.ts.
 */
import assert from "node:assert/strict";
import { readIdentity } from "../../lib/source/identity.ts";
import { Tailer, type TailEvent, type TailStart } from "../../lib/source/tail.ts";

interface Setup extends AsyncDisposable {
  dir: string;
  log: string;
  events: TailEvent[];
  tailer: Tailer;
}

async function setup(text: string | null): Promise<Setup> {
  const dir = await Deno.makeTempDir();
  const log = `${dir}/spysocket.log`;
  if (text !== null) await Deno.writeTextFile(log, text);
  const events: TailEvent[] = [];
  const tailer = new Tailer({
    path: log,
    maxLineBytes: 1 << 20,
    pollMs: 10,
    rotateWaitMs: 0,
    events: (event) => events.push(event),
  });
  return {
    dir,
    log,
    events,
    tailer,
    async [Symbol.asyncDispose]() {
      tailer.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Everything readable now, as `generation:text` pieces. */
async function readNow(tailer: Tailer): Promise<string[]> {
  const out: string[] = [];
  for (let read = await tailer.read(); read; read = await tailer.read()) {
    if (read.item.kind === "lines") {
      out.push(`${read.generation}:${new TextDecoder().decode(read.item.bytes)}`);
    }
  }
  return out;
}

async function identityOf(path: string) {
  using file = await Deno.open(path);
  return await readIdentity(file);
}

Deno.test("rotation by rename while running: the rest of the old file, then the new one as the next generation", async () => {
  await using t = await setup("a\n");
  await t.tailer.start({ generation: 0, offset: 0 });
  assert.deepEqual(await readNow(t.tailer), ["0:a\n"]);
  await Deno.writeTextFile(t.log, "b\n", { append: true });
  await Deno.rename(t.log, `${t.log}.1`);
  await Deno.writeTextFile(t.log, "c\n");
  assert.deepEqual(await readNow(t.tailer), ["0:b\n", "1:c\n"]);
  assert.deepEqual(t.events, [{ kind: "next", name: t.log, generation: 1 }]);
});

Deno.test("copytruncate while running: a truncated event, and the file again from 0 as a new generation", async () => {
  await using t = await setup("first line\n");
  await t.tailer.start({ generation: 0, offset: 0 });
  assert.deepEqual(await readNow(t.tailer), ["0:first line\n"]);
  await Deno.truncate(t.log, 0);
  await Deno.writeTextFile(t.log, "x\n");
  assert.deepEqual(await readNow(t.tailer), ["1:x\n"]);
  assert.deepEqual(t.events, [{ kind: "truncated", whileStopped: false, generation: 1 }]);
});

Deno.test("removed, then created again: removed, then the new file as the next generation", async () => {
  await using t = await setup("a\n");
  await t.tailer.start({ generation: 0, offset: 0 });
  await readNow(t.tailer);
  await Deno.remove(t.log);
  assert.deepEqual(await readNow(t.tailer), []);
  await Deno.writeTextFile(t.log, "b\n");
  assert.deepEqual(await readNow(t.tailer), ["1:b\n"]);
  assert.deepEqual(t.events, [{ kind: "removed" }, { kind: "next", name: t.log, generation: 1 }]);
});

Deno.test("a log that does not exist yet is said once, and read from 0 when it comes", async () => {
  await using t = await setup(null);
  await t.tailer.start({ generation: 0, offset: 0 });
  assert.deepEqual(await readNow(t.tailer), []);
  assert.deepEqual(await readNow(t.tailer), []);
  await Deno.writeTextFile(t.log, "a\n");
  assert.deepEqual(await readNow(t.tailer), ["0:a\n"]);
  assert.deepEqual(t.events, [{ kind: "missing" }, { kind: "appeared", generation: 0 }]);
});

Deno.test("rotated while stopped: the rest of the rotated file first, then the file at the path", async () => {
  await using t = await setup("a\nb\n");
  const file = await identityOf(t.log);
  await Deno.rename(t.log, `${t.log}.1`);
  await Deno.writeTextFile(t.log, "c\n");
  await t.tailer.start({ generation: 4, offset: 2, file });
  assert.deepEqual(await readNow(t.tailer), ["4:b\n", "5:c\n"]);
  assert.deepEqual(t.events, [
    { kind: "rotated", whileStopped: true, name: `${t.log}.1`, generation: 4, offset: 2 },
    { kind: "next", name: t.log, generation: 5 },
  ]);
});

Deno.test("gone while stopped: the bytes that could not be read are told, and the new file follows", async () => {
  await using t = await setup("a\nb\nc\n");
  const file = await identityOf(t.log);
  // The new file is made before the old one goes, so that it cannot get the old inode back (a
  // file with the old inode and other text reads as truncated in place, which it may well be).
  await Deno.writeTextFile(`${t.dir}/new`, "new\n");
  await Deno.remove(t.log);
  await Deno.rename(`${t.dir}/new`, t.log);
  await t.tailer.start({ generation: 0, offset: 2, file }, 6);
  assert.deepEqual(await readNow(t.tailer), ["1:new\n"]);
  assert.deepEqual(t.events, [{
    kind: "lost",
    cause: "gone",
    generation: 0,
    offset: 2,
    bytes: 4,
    size: 6,
    next: 1,
    whileStopped: true,
    unreadable: [],
    searched: [`${t.log}.*`, `${t.log}-*`],
  }]);
});

Deno.test("truncated while stopped: shorter than the offset, a new generation from 0", async () => {
  // The same file (its first bytes unchanged), but shorter than where capture had got to.
  const line = "x".repeat(99) + "\n";
  await using t = await setup(line.repeat(20));
  const file = await identityOf(t.log);
  await Deno.truncate(t.log, 1500);
  const start: TailStart = { generation: 0, offset: 2000, file };
  await t.tailer.start(start);
  assert.deepEqual(t.events, [
    { kind: "truncated", whileStopped: true, size: 1500, offset: 2000, generation: 1 },
  ]);
  assert.equal((await readNow(t.tailer)).join("").length, 2 + 1500);
});

Deno.test("not the file the cache file names, but the holder knows it: continued where it was left", async () => {
  await using t = await setup("a\n");
  const other = await identityOf(t.log);
  await Deno.remove(t.log);
  await Deno.writeTextFile(t.log, "x\ny\n");
  await t.tailer.start({
    generation: 0,
    offset: 2,
    file: other,
    locate: () => Promise.resolve({ generation: 7, offset: 2 }),
    holder: "CouchDB",
  });
  assert.deepEqual(await readNow(t.tailer), ["7:y\n"]);
  assert.deepEqual(t.events, [{ kind: "located", holder: "CouchDB", generation: 7, offset: 2 }]);
});

Deno.test("a file CouchDB stored under another number reads on under it, and the file after it is numbered past it", async () => {
  await using t = await setup("a\n");
  await t.tailer.start({ generation: 0, offset: 0 });
  assert.deepEqual(await readNow(t.tailer), ["0:a\n"]);
  // The sink's answer for the batch of generation 0: CouchDB holds 0 for another file; this is 5.
  assert.equal(t.tailer.generations.moved(0, 5), true);
  assert.equal(t.tailer.position?.generation, 5);
  await Deno.writeTextFile(t.log, "b\n", { append: true });
  assert.deepEqual(await readNow(t.tailer), ["5:b\n"]);
  await Deno.rename(t.log, `${t.log}.1`);
  await Deno.writeTextFile(t.log, "c\n");
  assert.deepEqual(await readNow(t.tailer), ["6:c\n"]);
  assert.deepEqual(t.events.at(-1), { kind: "next", name: t.log, generation: 6 });
});

Deno.test("a renamed file its writer still holds is read on until it has been quiet for the rotate wait", async () => {
  await using t = await setup("a\n");
  const tailer = new Tailer({
    path: t.log,
    maxLineBytes: 1 << 20,
    pollMs: 10,
    rotateWaitMs: 300,
    events: (event) => t.events.push(event),
  });
  try {
    await tailer.start({ generation: 0, offset: 0 });
    assert.deepEqual(await readNow(tailer), ["0:a\n"]);
    // logrotate's create: renamed, a new file made, and the daemon writes on to the old one.
    using writer = await Deno.open(t.log, { append: true });
    await Deno.rename(t.log, `${t.log}.1`);
    await Deno.writeTextFile(t.log, "new\n");
    await writer.write(new TextEncoder().encode("b\nunfinish"));
    assert.deepEqual(await readNow(tailer), ["0:b\n"]);
    assert.equal(tailer.settling, true);
    await writer.write(new TextEncoder().encode("ed\nc\n")); // after the rename: not lost
    assert.deepEqual(await readNow(tailer), ["0:unfinished\nc\n"]);
    const started = Date.now();
    const later: string[] = [];
    while (later.length === 0) {
      later.push(...await readNow(tailer));
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(Date.now() - started >= 250, "the next file waits for the old one to be quiet");
    assert.deepEqual(later, ["1:new\n"]);
    assert.equal(tailer.settling, false);
  } finally {
    tailer.close();
  }
});

Deno.test("copytruncate while behind: the rest is read from the copy, then the truncated file is the next generation", async () => {
  await using t = await setup("a\nb\n");
  await t.tailer.start({ generation: 0, offset: 0 });
  assert.deepEqual(await readNow(t.tailer), ["0:a\nb\n"]);
  await Deno.writeTextFile(t.log, "c\nd\n", { append: true }); // not read yet
  await Deno.copyFile(t.log, `${t.log}.1`);
  await Deno.truncate(t.log, 0);
  await Deno.writeTextFile(t.log, "e\n");
  assert.deepEqual(await readNow(t.tailer), ["0:c\nd\n", "1:e\n"]);
  assert.deepEqual(t.events[0], {
    kind: "copied",
    name: t.log,
    copy: `${t.log}.1`,
    generation: 0,
    offset: 4,
  });
});

Deno.test("copytruncate, and the new file grew past the old offset before the next read: no read from inside a line", async () => {
  await using t = await setup("a\nb\n");
  await t.tailer.start({ generation: 0, offset: 0 });
  assert.deepEqual(await readNow(t.tailer), ["0:a\nb\n"]);
  await Deno.writeTextFile(t.log, "c\n", { append: true });
  await Deno.copyFile(t.log, `${t.log}.1`);
  await Deno.truncate(t.log, 0);
  await Deno.writeTextFile(t.log, "new line one\nnew line two\n");
  assert.deepEqual(await readNow(t.tailer), ["0:c\n", "1:new line one\nnew line two\n"]);
});

Deno.test("truncated and rewritten with the same first line, grown past the offset: still a new file", async () => {
  await using t = await setup("#header\na\n");
  await t.tailer.start({ generation: 0, offset: 0 });
  assert.deepEqual(await readNow(t.tailer), ["0:#header\na\n"]);
  await Deno.writeTextFile(t.log, "#header\nsomething else\n");
  assert.deepEqual(await readNow(t.tailer), ["1:#header\nsomething else\n"]);
});

Deno.test("replaced by an identical copy (cp and mv) while running: the same file, read on from its offset", async () => {
  await using t = await setup("a\nb\n");
  await t.tailer.start({ generation: 0, offset: 0 });
  assert.deepEqual(await readNow(t.tailer), ["0:a\nb\n"]);
  await Deno.copyFile(t.log, `${t.dir}/copy`);
  await Deno.writeTextFile(`${t.dir}/copy`, "c\n", { append: true });
  await Deno.rename(`${t.dir}/copy`, t.log);
  assert.deepEqual(await readNow(t.tailer), ["0:c\n"]);
  assert.deepEqual(t.events, [{ kind: "replaced", generation: 0, offset: 4 }]);
});

Deno.test("replaced by an identical copy while stopped: the same file, its identity as first seen", async () => {
  await using t = await setup("a\nb\n");
  const file = await identityOf(t.log);
  await Deno.copyFile(t.log, `${t.dir}/copy`);
  await Deno.writeTextFile(`${t.dir}/copy`, "c\n", { append: true });
  await Deno.rename(`${t.dir}/copy`, t.log);
  await t.tailer.start({ generation: 3, offset: 4, file });
  assert.deepEqual(await readNow(t.tailer), ["3:c\n"]);
  assert.equal(t.tailer.position?.file.ino, file.ino);
});

Deno.test("compressed after its rotation while stopped: the rest is read from the gzip file", async () => {
  const { gzipSync } = await import("node:zlib");
  await using t = await setup("a\nb\n");
  const file = await identityOf(t.log);
  await Deno.writeTextFile(t.log, "c\n", { append: true });
  await Deno.writeFile(`${t.log}.1.gz`, gzipSync(await Deno.readFile(t.log)));
  await Deno.remove(t.log);
  await Deno.writeTextFile(t.log, "d\n");
  await t.tailer.start({ generation: 0, offset: 4, file });
  assert.deepEqual(await readNow(t.tailer), ["0:c\n", "1:d\n"]);
});

Deno.test("gone while stopped, and a file rotated after it is still there: that file is read before the new one", async () => {
  await using t = await setup("a\n");
  const file = await identityOf(t.log);
  const savedAt = Date.now() - 60_000;
  await Deno.remove(t.log);
  await Deno.writeTextFile(`${t.log}.1`, "rotated after\n");
  await Deno.writeTextFile(t.log, "new\n");
  await t.tailer.start({ generation: 0, offset: 2, file, savedAt }, 2);
  assert.deepEqual(await readNow(t.tailer), ["1:rotated after\n", "2:new\n"]);
});

Deno.test("resumeAt moves the reader of the file being read only", async () => {
  await using t = await setup("a\nb\nc\n");
  await t.tailer.start({ generation: 0, offset: 0 });
  const first = await t.tailer.read();
  assert.ok(first);
  assert.equal(await t.tailer.resumeAt(first.file, 4), true);
  assert.deepEqual(await readNow(t.tailer), ["0:c\n"]);
  const other = { ...first.file, ino: first.file.ino + 1 };
  assert.equal(await t.tailer.resumeAt(other, 0), false);
});
