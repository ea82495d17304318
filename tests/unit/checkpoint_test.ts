import assert from "node:assert/strict";
import { readIdentity } from "../../lib/source/identity.ts";
import {
  CacheFile,
  checkpointDisagreement,
  readCheckpoint,
  readLegacyHistory,
} from "../../lib/source/checkpoint.ts";

async function withLog(text: string, fn: (dir: string, log: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/spysocket.log`, text);
    await fn(dir, `${dir}/spysocket.log`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the cache file moves only by commit, atomically, and says where it is", async () => {
  await withLog("a\nb\n", async (dir, log) => {
    using file = await Deno.open(log);
    const identity = await readIdentity(file);
    const cache = new CacheFile(`${dir}/c.json`, { path: log, source: "avl1" }, null);
    assert.equal(cache.current, null);
    await cache.commit({ generation: 0, offset: 2, file: identity }, 4);
    const saved = await readCheckpoint(`${dir}/c.json`);
    assert.deepEqual(
      [saved?.path, saved?.source, saved?.generation, saved?.offset, saved?.seenSize],
      [log, "avl1", 0, 2, 4],
    );
    assert.ok(cache.holds({ generation: 0, offset: 2, file: identity }));
    assert.ok(!cache.holds({ generation: 0, offset: 4, file: identity }));
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "c.json",
      "spysocket.log",
    ]);
  });
});

Deno.test("a cache file that is not one is refused with the fix; a missing one is none yet", async () => {
  await withLog("", async (dir) => {
    assert.equal(await readCheckpoint(`${dir}/none.json`), null);
    await Deno.writeTextFile(`${dir}/bad.json`, '{"version": 1, "offset": -3}');
    await assert.rejects(
      readCheckpoint(`${dir}/bad.json`),
      /is not a logcapture cache file: move it away/,
    );
  });
});

Deno.test("a cache file does not fit its log when its offset is past the end, or inside a line", async () => {
  await withLog("first\nsecond\n", async (dir, log) => {
    using file = await Deno.open(log);
    const identity = await readIdentity(file);
    const at = (offset: number) => ({
      version: 1 as const,
      path: log,
      source: "avl1",
      generation: 0,
      offset,
      file: identity,
      seenSize: offset,
    });
    assert.equal(await checkpointDisagreement(at(6), log), null);
    assert.equal(await checkpointDisagreement(at(13), log), null);
    assert.match((await checkpointDisagreement(at(3), log))!, /inside a line/);
    assert.match((await checkpointDisagreement(at(99), log))!, /past the end/);
    assert.ok(dir);
  });
});

Deno.test("the 2012 logtail.history gives the size recorded for the log, by path or by file name", async () => {
  await withLog("", async (dir, log) => {
    await Deno.writeTextFile(
      `${dir}/logtail.history`,
      `# written by logtail\nsize./old/host/spysocket.log=4096\nsize.${log}: 1234\n`,
    );
    assert.equal(await readLegacyHistory(`${dir}/logtail.history`, log), 1234);
    assert.equal(
      await readLegacyHistory(`${dir}/logtail.history`, "/elsewhere/spysocket.log"),
      4096,
    );
    assert.equal(await readLegacyHistory(`${dir}/logtail.history`, "/x/other.log"), null);
  });
});
