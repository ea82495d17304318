/**
 * An HTTP proxy on loopback that breaks CouchDB's answers on purpose, for tests: it loses the
 * acknowledgement of a write the server has committed, cuts an answer's body mid-way, or answers
 * garbage or a truncated body, as a flaky network or a broken middlebox would. Which request gets
 * which fault is the test's choice. Beside `proxy.ts`, which makes the server slow or unreachable.
 *
 * @example
 * ```ts
 * import { FaultProxy } from "./fault_proxy.ts";
 * // every third write committed but its answer lost, every other read garbage
 * await using proxy = new FaultProxy("http://admin:pw@127.0.0.1:5984", (request, n) =>
 *   request.method === "GET" ? (n % 2 ? "garbage" : "none") : n % 3 ? "none" : "lose-ack");
 * proxy.urlFor("http://admin:pw@127.0.0.1:5984/db"); // http://admin:pw@127.0.0.1:PORT/db
 * ```
 * @module
 */
import { throughPort } from "./proxy.ts";

/** What happens to one request. */
export type Fault =
  /** Passed through untouched. */
  | "none"
  /** Sent to the server, its answer's head returned, then the connection cut before the body. */
  | "lose-ack"
  /** Sent to the server, and the connection cut halfway through its answer's body. */
  | "reset-mid-body"
  /** Sent to the server; the answer, with the server's status, is a body that is not JSON. */
  | "garbage"
  /** Sent to the server; the answer is the first half of its body, cleanly ended. */
  | "truncated";

/** The proxy. `choose` picks the fault of the `n`-th request (0 first) of its method. */
export class FaultProxy implements AsyncDisposable {
  readonly #target: URL;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #controller = new AbortController();
  readonly #seen = new Map<string, number>();
  /** How many requests got each fault. */
  readonly injected: Record<Fault, number> = {
    "none": 0,
    "lose-ack": 0,
    "reset-mid-body": 0,
    "garbage": 0,
    "truncated": 0,
  };

  constructor(target: string, choose: (request: Request, n: number) => Fault) {
    // The client's own Authorization header goes through; credentials in the URL as well would
    // make a second one, which CouchDB refuses (500 badarg).
    this.#target = new URL(new URL(target).origin);
    this.#server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      signal: this.#controller.signal,
      onListen() {},
    }, async (request) => {
      const n = this.#seen.get(request.method) ?? 0;
      this.#seen.set(request.method, n + 1);
      const fault = choose(request, n);
      this.injected[fault]++;
      const answer = await this.#forward(request);
      const body = new Uint8Array(await answer.arrayBuffer());
      const headers = new Headers(answer.headers);
      headers.delete("content-length");
      headers.delete("content-encoding");
      switch (fault) {
        case "none":
          return new Response(body, { status: answer.status, headers });
        case "lose-ack":
          return new Response(failingStream(new Uint8Array(0)), { status: answer.status, headers });
        case "reset-mid-body":
          return new Response(failingStream(body.subarray(0, body.length >> 1)), {
            status: answer.status,
            headers,
          });
        case "garbage":
          return new Response("<html><body>502 Bad Gateway</body></html>\n", {
            status: answer.status,
            headers: { "content-type": "text/html" },
          });
        case "truncated":
          return new Response(body.subarray(0, body.length >> 1), {
            status: answer.status,
            headers,
          });
      }
    });
  }

  async #forward(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const to = new URL(url.pathname + url.search, this.#target);
    const headers = new Headers(request.headers);
    headers.delete("host");
    headers.delete("content-length");
    const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
    return await fetch(to, { method: request.method, headers, body });
  }

  /** `url` (of the server behind the proxy) reached through it: same credentials and path. */
  urlFor(url: string): string {
    return throughPort(url, this.#server.addr.port);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#controller.abort();
    await this.#server.finished;
  }
}

/** A body that gives `head`, then fails: the server cuts the connection mid-answer. */
function failingStream(head: Uint8Array): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    pull(controller) {
      if (!sent && head.length > 0) {
        sent = true;
        controller.enqueue(head);
        return;
      }
      controller.error(new Error("connection cut by the fault proxy"));
    },
  });
}
