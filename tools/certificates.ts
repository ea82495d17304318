/**
 * A private CA and a server certificate it signed for 127.0.0.1, made with `openssl` in a folder:
 * what the tests and the bench give `monitor --tls-cert/--tls-key` and `capture --ca-file`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loopbackCertificates } from "./certificates.ts";
 * const dir = await Deno.makeTempDir();
 * const made = await loopbackCertificates(dir);
 * if (made) assert.match(await Deno.readTextFile(made.cert), /BEGIN CERTIFICATE/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { join } from "node:path";

/** The PEM files made: the CA's certificate, and the server's certificate and key. */
export interface LoopbackCertificates {
  /** The CA's certificate, for `--ca-file`. */
  ca: string;
  /** The server's certificate (subjectAltName IP:127.0.0.1), for `--tls-cert`. */
  cert: string;
  /** The server's key, for `--tls-key`. */
  key: string;
}

/** Makes them in `dir`, valid for a day; `null` where `openssl` is missing or fails. */
export async function loopbackCertificates(dir: string): Promise<LoopbackCertificates | null> {
  const openssl = async (...args: string[]) =>
    (await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    })
      .output().catch(() => null))?.success ?? false;
  await Deno.writeTextFile(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1\n");
  const key = ["-newkey", "rsa:2048", "-nodes"];
  const made = await openssl(
    "req",
    "-x509",
    ...key,
    "-days",
    "1",
    "-subj",
    "/CN=logcapture test CA",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
  ) &&
    await openssl(
      "req",
      ...key,
      "-subj",
      "/CN=127.0.0.1",
      "-keyout",
      "key.pem",
      "-out",
      "req.csr",
    ) &&
    await openssl(
      ...["x509", "-req", "-in", "req.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial"],
      ...["-days", "1", "-extfile", "san.ext", "-out", "cert.pem"],
    );
  return made
    ? { ca: join(dir, "ca.pem"), cert: join(dir, "cert.pem"), key: join(dir, "key.pem") }
    : null;
}
