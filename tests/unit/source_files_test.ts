/** The file-level pieces of lib/source/: atomic writes, locks, and the folder watch. */
import assert from "node:assert/strict";
import { removeStaleTemps, tempNameFor, writeFileAtomic } from "../../lib/source/atomic.ts";
import { cacheLockPath, holdLock } from "../../lib/source/lock.ts";
import { FolderWatch } from "../../lib/source/watch.ts";

Deno.test("an atomic write replaces the file whole, and the temporary files a crash left are removed", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/c.json`;
  await writeFileAtomic(path, new TextEncoder().encode("one"));
  await writeFileAtomic(path, new TextEncoder().encode("two"));
  assert.equal(await Deno.readTextFile(path), "two");
  await Deno.writeTextFile(tempNameFor(path), "half-written");
  await Deno.writeTextFile(tempNameFor(path), "another");
  assert.ok((await removeStaleTemps(path)) >= 1);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["c.json"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("one holder of a lock at a time; released, or gone with its process, it is free again", async () => {
  const dir = await Deno.makeTempDir();
  const lock = await holdLock(cacheLockPath(`${dir}/c.json`), "cache file c.json", "stop it first");
  await assert.rejects(
    holdLock(cacheLockPath(`${dir}/c.json`), "cache file c.json", "stop it first"),
    new RegExp(
      `cache file c\\.json is in use by another process \\(PID ${Deno.pid}\\): stop it first`,
    ),
  );
  lock.release();
  (await holdLock(cacheLockPath(`${dir}/c.json`), "cache file c.json", "")).release();
  // A directory is locked itself (the monitor's drop directory).
  const held = await holdLock(dir, `drop directory ${dir}`, "one monitor per drop directory");
  await assert.rejects(holdLock(dir, `drop directory ${dir}`, "x"), /drop directory .* is in use/);
  held.release();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a folder watch wakes for a matching change, not for others, and a timeout ends the wait", async () => {
  const dir = await Deno.makeTempDir();
  const watch = new FolderWatch(dir, (path) => path.endsWith(".log"));
  assert.ok(watch.watching);
  let woke = false;
  const waiting = watch.wait(60_000).then(() => (woke = true));
  await Deno.writeTextFile(`${dir}/other.txt`, "x");
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(woke, false, "woken by a change that does not match");
  await Deno.writeTextFile(`${dir}/app.log`, "x");
  await waiting;
  const started = performance.now();
  await watch.wait(20);
  assert.ok(performance.now() - started < 5000);
  watch.close();
  await Deno.remove(dir, { recursive: true });
});
