/**
 * How a feed document goes to a cluster (`lib/sink/multipart_choice.ts`): multipart only while
 * `_membership` shows every node up, asked at most every few seconds, never when it cannot be
 * read, and not for a while after a multipart PUT went unanswered.
 */
import assert from "node:assert/strict";
import { MultipartChoice, SINGLE_NODE } from "../../lib/sink/multipart_choice.ts";

function clusterOf(answers: (boolean | null)[]) {
  let now = 0, asked = 0;
  const choice = new MultipartChoice({
    allNodesUp: () => Promise.resolve(answers[Math.min(asked++, answers.length - 1)]),
    checkEveryMs: 5000,
    boundMs: 15_000,
    restMs: 60_000,
    now: () => now,
  });
  return { choice, wait: (ms: number) => void (now += ms), asked: () => asked };
}

Deno.test("multipart while every node is up, asked at most every 5 s; JSON once a node is down or membership cannot be read", async () => {
  const { choice, wait, asked } = clusterOf([true, false, null]);
  assert.deepEqual(await choice.next(), { multipart: true, boundMs: 15_000 });
  wait(4999);
  assert.deepEqual(await choice.next(), { multipart: true, boundMs: 15_000 });
  assert.equal(asked(), 1, "one answer holds for 5 s");
  wait(1);
  assert.deepEqual(await choice.next(), { multipart: false }, "a node down");
  wait(5000);
  assert.deepEqual(await choice.next(), { multipart: false }, "membership not readable");
  assert.equal(asked(), 3);
});

Deno.test("after a multipart PUT went unanswered, JSON for a minute, then membership is asked again", async () => {
  const { choice, wait, asked } = clusterOf([true]);
  assert.equal((await choice.next()).multipart, true);
  choice.unanswered();
  wait(59_999);
  assert.equal((await choice.next()).multipart, false);
  assert.equal(asked(), 1, "not asked while resting");
  wait(1);
  assert.equal((await choice.next()).multipart, true);
  assert.equal(asked(), 2);
});

Deno.test("a single node takes multipart always, with no bound on its wait", async () => {
  assert.deepEqual(await SINGLE_NODE.next(), { multipart: true });
});
