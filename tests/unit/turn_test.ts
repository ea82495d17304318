import assert from "node:assert/strict";
import { nextTurn } from "../../lib/base/turn.ts";

Deno.test("a timer that is due fires while a loop only waits for next turns", async () => {
  let fired = false;
  setTimeout(() => fired = true, 0);
  let turns = 0;
  while (!fired && turns < 1_000_000) {
    await nextTurn();
    turns++;
  }
  assert.ok(fired, `not fired after ${turns} turns`);
});

Deno.test("microtasks alone never let it (what nextTurn is for)", async () => {
  let fired = false;
  const timer = setTimeout(() => fired = true, 0);
  const until = performance.now() + 20; // the timer is due well before this
  while (performance.now() < until) await Promise.resolve();
  assert.equal(fired, false);
  clearTimeout(timer);
});

Deno.test("a next turn keeps no program alive: its channel is closed", async () => {
  const child = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { nextTurn } from "${
        import.meta.resolve("../../lib/base/turn.ts")
      }"; await nextTurn();`,
    ],
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000), // a program kept alive fails here rather than hang
  }).output();
  assert.equal(child.code, 0, new TextDecoder().decode(child.stderr));
});
