/**
 * Handing batches to a sink, a window of them in flight: each is stored (with retries) while the
 * next ones are made, and acknowledged in the order it was sent, so that what the caller commits
 * (a cache file's position, an extract moved away) covers a contiguous prefix, never a gap.
 * Capture and the monitor deliver their batches this one way.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "../base/log.ts";
 * import type { Batch } from "../sink/batch.ts";
 * import { Delivery } from "./delivery.ts";
 * const acknowledged: number[] = [];
 * const delivery = new Delivery<{ batch: Batch }>({
 *   limit: 2,
 *   // The second batch is stored first; it is still acknowledged second.
 *   store: (batch) =>
 *     new Promise((resolve) =>
 *       setTimeout(() => resolve({ generation: 0, end: batch.end }), batch.start === 0 ? 20 : 1)
 *     ),
 *   acknowledge: (item) => (acknowledged.push(item.batch.start), Promise.resolve()),
 *   log: createLogger({ level: "error" }),
 * });
 * const file = { id: "0123456789abcdef" };
 * const batch = (start: number): Batch => ({
 *   source: { id: "avl1", host: "h", path: "/x.log", file },
 *   generation: 0,
 *   start,
 *   end: start + 10,
 *   data: new Uint8Array(10),
 *   oversized: null,
 *   readAt: new Date(),
 * });
 * await delivery.send({ batch: batch(0) });
 * await delivery.send({ batch: batch(10) });
 * assert.equal(await delivery.settleAll(), true);
 * assert.deepEqual(acknowledged, [0, 10]);
 * ```
 * @module
 */
import type { Logger } from "../base/log.ts";
import { InFlight } from "../base/window.ts";
import type { Batch } from "../sink/batch.ts";
import { logStoredBatch, type SinkResult } from "../sink/sink.ts";
import { sameFile } from "../source/identity.ts";

/** Which source, generation and file a batch is of: batches of one go out in turn. */
export type TurnOf = Pick<Batch, "generation"> & { source: Pick<Batch["source"], "id" | "file"> };

/**
 * Whether two batches are of one source, generation and file (by file id where both have one, by
 * device, inode and first bytes otherwise, as CouchDB's documents tell files apart).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sameTurn } from "./delivery.ts";
 * const of = (generation: number, id: string) => ({ source: { id: "avl1", file: { id } }, generation });
 * assert.equal(sameTurn(of(0, "a"), of(0, "a")), true);
 * assert.equal(sameTurn(of(0, "a"), of(1, "a")), false);
 * assert.equal(sameTurn(of(0, "a"), of(0, "b")), false);
 * ```
 */
export function sameTurn(a: TurnOf, b: TurnOf): boolean {
  return a.source.id === b.source.id && a.generation === b.generation &&
    sameFile(a.source.file, b.source.file);
}

/** How a delivery stores and acknowledges. */
export interface DeliveryOptions<T extends { batch: Batch }> {
  /** How many batches may be in flight (the sink's `inFlight`). */
  limit: number;
  /**
   * Stores a batch, retrying as it sees fit: its result, or `null` once the program stops. `turn`
   * (when a batch is in flight before it) settles once that batch's store is over: the store may
   * make its documents meanwhile, and sends them then.
   */
  store: (batch: Batch, turn?: Promise<void>) => Promise<SinkResult | null>;
  /** Told of each batch whose store is over, stored or not, first (to take its buffer back). */
  settled?: (item: T) => void;
  /** What follows a stored batch, in the order the batches were sent. */
  acknowledge: (item: T, result: SinkResult) => Promise<void>;
  /** Where stored batches are logged (debug). */
  log: Logger;
}

/**
 * A window of batches being stored, and the one keeper of their order: acknowledged in the order
 * sent, one source, generation and file at a time, each sent once the one before is stored. See
 * the module example.
 */
export class Delivery<T extends { batch: Batch }> {
  readonly #options: DeliveryOptions<T>;
  readonly #window: InFlight<T & { sentAt: number }, SinkResult | null>;
  /** The last batch sent, and when its store is over. */
  #last: { batch: Batch; over: Promise<void> } | null = null;

  /** A delivery with nothing in flight. */
  constructor(options: DeliveryOptions<T>) {
    this.#options = options;
    this.#window = new InFlight(options.limit);
  }

  /** How many batches are in flight. */
  get size(): number {
    return this.#window.size;
  }

  /**
   * Sends `item`'s batch, then waits while as many as may be are in flight; false when the
   * program stopped (what was in flight is then waited for, and not acknowledged).
   */
  async send(item: T): Promise<boolean> {
    if (!await this.turnTo(item.batch)) return false;
    const turn = this.#window.size > 0 ? this.#last?.over : undefined;
    const work = this.#options.store(item.batch, turn);
    this.#last = { batch: item.batch, over: work.then(() => {}, () => {}) };
    this.#window.push({ ...item, sentAt: performance.now() }, work);
    while (this.#window.full) {
      if (!await this.settleOldest()) {
        await this.settleAll();
        return false;
      }
    }
    return true;
  }

  /**
   * Makes way for batches of `next`'s source, generation and file: those in flight of another are
   * acknowledged first (a generation's documents go out in order, one generation after the
   * other); false when the program stopped.
   */
  async turnTo(next: TurnOf): Promise<boolean> {
    const last = this.#last;
    if (this.#window.size === 0 || !last || sameTurn(last.batch, next)) return true;
    return await this.settleAll();
  }

  /** Waits for the oldest batch in flight and acknowledges it; false when the program stopped. */
  async settleOldest(): Promise<boolean> {
    const settled = await this.#window.shift();
    this.#options.settled?.(settled.item);
    if (!settled.ok) throw settled.error;
    if (!settled.value) return false;
    const { sentAt, ...item } = settled.item;
    logStoredBatch(this.#options.log, item.batch, settled.value, performance.now() - sentAt);
    await this.#options.acknowledge(item as unknown as T, settled.value);
    return true;
  }

  /** Settles batches, oldest first, until `done` says so or none is left; false when stopped. */
  async settleUntil(done: () => boolean): Promise<boolean> {
    while (this.#window.size > 0 && !done()) {
      if (!await this.settleOldest()) return false;
    }
    return true;
  }

  /**
   * Waits for every batch in flight, in order; false when the program stopped. After a stop the
   * later batches are still waited for, none left running, but not acknowledged: what the caller
   * commits never skips a gap.
   */
  async settleAll(): Promise<boolean> {
    let ok = true;
    while (this.#window.size > 0) {
      if (ok) ok = await this.settleOldest();
      else this.#options.settled?.((await this.#window.shift()).item);
    }
    return ok;
  }
}
