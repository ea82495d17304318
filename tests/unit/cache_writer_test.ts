import assert from "node:assert/strict";
import { CacheFile, readCheckpoint } from "../../lib/source/checkpoint.ts";
import { CacheWriter } from "../../lib/run/cache_writer.ts";

const FILE = { dev: 1, ino: 2, head: "ab", headLength: 1024 };
const LOG = { beforeHash: () => Promise.resolve("h"), fileSize: () => Promise.resolve(9000) };

async function withCache(fn: (cache: CacheFile, path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/avl1.cache.json`;
    await fn(new CacheFile(path, { path: "/var/log/spysocket.log", source: "avl1" }, null), path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("acknowledged positions within the interval wait for flush; the last one is written", async () => {
  await withCache(async (cache, path) => {
    const writer = new CacheWriter(cache, LOG, 3_600_000);
    assert.equal(await writer.acknowledge({ generation: 0, offset: 100, file: FILE }), true);
    for (const offset of [200, 300]) {
      assert.equal(await writer.acknowledge({ generation: 0, offset, file: FILE }), false);
    }
    assert.equal((await readCheckpoint(path))?.offset, 100);
    await writer.flush();
    assert.equal((await readCheckpoint(path))?.offset, 300);
    await writer.flush(); // nothing pending: no write
    assert.equal((await readCheckpoint(path))?.offset, 300);
  });
});

Deno.test("a position of another generation is written at once", async () => {
  await withCache(async (cache, path) => {
    const writer = new CacheWriter(cache, LOG, 3_600_000);
    await writer.acknowledge({ generation: 0, offset: 100, file: FILE });
    assert.equal(await writer.acknowledge({ generation: 1, offset: 50, file: FILE }), true);
    assert.equal((await readCheckpoint(path))?.generation, 1);
  });
});

Deno.test("with no interval every acknowledgement is written, and commit writes at once", async () => {
  await withCache(async (cache, path) => {
    const writer = new CacheWriter(cache, LOG, 0);
    assert.equal(await writer.acknowledge({ generation: 0, offset: 100, file: FILE }), true);
    assert.equal(await writer.acknowledge({ generation: 0, offset: 200, file: FILE }), true);
    await writer.commit({ generation: 0, offset: 250, file: FILE, before: "x" });
    const written = await readCheckpoint(path);
    assert.deepEqual([written?.offset, written?.before, written?.seenSize], [250, "x", 9000]);
  });
});
