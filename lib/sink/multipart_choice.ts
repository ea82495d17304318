/**
 * How a feed document goes to CouchDB: in one `multipart/related` PUT with its CSV gzip-encoded,
 * or as JSON with the CSV in base64. A single Apache CouchDB node always takes multipart. A
 * cluster takes it 2.8 times as fast while it is healthy (measured on three CouchDB 3.5 nodes:
 * 275,677 lines/s against 98,642), but streams each attachment to every copy, and with a node
 * down such a PUT was answered after minutes, where JSON is answered at once. So on a cluster a
 * document goes as multipart only while `_membership` shows every node up (looked at every few
 * seconds), and waits a bounded time for its answer; a PUT unanswered by then is sent again as
 * JSON, and multipart rests for a while. The id is the same either way: if the first PUT landed
 * after all, the second meets a conflict, resolved by reading what CouchDB holds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MultipartChoice } from "./multipart_choice.ts";
 * let up: boolean | null = true;
 * const choice = new MultipartChoice({ allNodesUp: () => Promise.resolve(up), checkEveryMs: 0 });
 * assert.deepEqual(await choice.next(), { multipart: true, boundMs: 15_000 });
 * up = false; // a node down
 * assert.deepEqual(await choice.next(), { multipart: false });
 * up = true;
 * choice.unanswered(); // a multipart PUT went unanswered: JSON for a while
 * assert.deepEqual(await choice.next(), { multipart: false });
 * ```
 * @module
 */

/** How the next feed document goes: multipart (with a bound on its wait, on a cluster), or JSON. */
export type FeedWay = { multipart: true; boundMs?: number } | { multipart: false };

/** How a cluster's health is learnt, and how often. */
export interface MultipartChoiceOptions {
  /** Whether every node is up (`_membership`); `null`: cannot be told (JSON then). */
  allNodesUp: () => Promise<boolean | null>;
  /** How long one answer of `allNodesUp` holds; default 5 s. */
  checkEveryMs?: number;
  /** How long a multipart PUT to a cluster waits for its answer; default 15 s. */
  boundMs?: number;
  /** How long multipart rests after a PUT went unanswered; default 60 s. */
  restMs?: number;
  /** The clock (ms). */
  now?: () => number;
  /** Told when multipart rests, in words. */
  say?: (message: string) => void;
}

/** What decides how each feed document goes. */
export interface FeedWayChoice {
  /** How the next document goes. */
  next(): Promise<FeedWay>;
  /** A multipart PUT went unanswered within its bound. */
  unanswered(): void;
}

/** The choice for a cluster; a single node takes {@linkcode SINGLE_NODE}. See the module doc. */
export class MultipartChoice implements FeedWayChoice {
  readonly #options: Required<MultipartChoiceOptions>;
  #healthy = false;
  #checkedAt = -Infinity;
  #restingUntil = -Infinity;

  /** A choice that asks `options.allNodesUp` at most every `checkEveryMs`. */
  constructor(options: MultipartChoiceOptions) {
    this.#options = {
      checkEveryMs: 5000,
      boundMs: 15_000,
      restMs: 60_000,
      now: () => Date.now(),
      say: () => {},
      ...options,
    };
  }

  /** How the next document goes. */
  async next(): Promise<FeedWay> {
    const o = this.#options, now = o.now();
    if (now < this.#restingUntil) return { multipart: false };
    if (now - this.#checkedAt >= o.checkEveryMs) {
      this.#healthy = await o.allNodesUp() === true;
      this.#checkedAt = o.now();
    }
    return this.#healthy ? { multipart: true, boundMs: o.boundMs } : { multipart: false };
  }

  /** A multipart PUT went unanswered within its bound: JSON until the rest is over. */
  unanswered(): void {
    const o = this.#options;
    this.#restingUntil = o.now() + o.restMs;
    this.#checkedAt = -Infinity;
    o.say(
      `a multipart PUT to the cluster got no answer in ${
        o.boundMs / 1000
      } s (a node down?): it goes again as JSON, and so do feed documents for ${o.restMs / 1000} s`,
    );
  }
}

/** The way for a single Apache CouchDB node: multipart always, waiting as long as any request. */
export const SINGLE_NODE: FeedWayChoice = {
  next: () => Promise.resolve({ multipart: true }),
  unanswered: () => {},
};
