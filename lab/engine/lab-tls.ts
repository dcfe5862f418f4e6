/**
 * `--tls` (issue 19): a CA and a server certificate the lab makes at its
 * start with Debian's openssl command (a kept tool, not hand-written ASN.1),
 * the flags that put every server, proxy and client on HTTP/2 over TLS, and
 * the key log the peers write and the wire tap reads.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { UsageError } from "../../lib/cli.ts";
import { createTlsKeyLog, type TlsKeyLog } from "../faults/tls-key-log.ts";
import { projectRoot } from "./build.ts";

export interface LabTls {
  /** The CA's certificate, PEM: what every client trusts. */
  caFile: string;
  /**
   * The server's certificate chain (PEM: the certificate, for 127.0.0.1-127.0.0.8, ::1 and
   * localhost, then the CA's, as servers send their intermediates), and its key.
   */
  certFile: string;
  keyFile: string;
  /** Certificate and key in one file, as HAProxy takes them. */
  pemFile: string;
  /** Where the peers write their key log (one file: lab/engine/child-process.ts logTlsKeys). */
  keyLogDir: string;
  /** What the tap reads them with. */
  keyLog: TlsKeyLog;
  /** The library that makes programs on the system's OpenSSL log their keys (undefined: no C compiler). */
  opensslKeyLog: string | undefined;
}

/**
 * The names the server certificate holds: every backend address the channel
 * cases use (backendHost), IPv6 loopback, and "localhost", the authority the
 * lab's gRPC channels send for a list of addresses (targetAuthority).
 */
const names = ["DNS:localhost", ...Array.from({ length: 8 }, (_, i) => `IP:127.0.0.${i + 1}`), "IP:::1"];

/** A CA and a server certificate in `dir` (P-256, valid two days), made with openssl; the key log folder beside them. */
export function createLabTls(dir: string): LabTls {
  // A key log of an earlier run must not be read as this one's.
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const file = (name: string) => path.join(dir, name);
  const openssl = (args: string[]) => {
    const why = failureOf("openssl", args, "not installed (apt-get install openssl)");
    if (why) throw new UsageError(`--tls: openssl: ${why}`);
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  openssl([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    file("ca.key"),
    "-out",
    file("ca.pem"),
    "-days",
    "2",
    "-subj",
    "/CN=liveness lab CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  openssl(["req", ...ec, "-keyout", file("server.key"), "-out", file("server.csr"), "-subj", "/CN=localhost"]);
  writeFileSync(
    file("server.ext"),
    `subjectAltName=${names.join(",")}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n`,
  );
  openssl([
    "x509",
    "-req",
    "-in",
    file("server.csr"),
    "-CA",
    file("ca.pem"),
    "-CAkey",
    file("ca.key"),
    "-CAcreateserial",
    "-out",
    file("server.pem"),
    "-days",
    "2",
    "-extfile",
    file("server.ext"),
  ]);
  // The chain the servers send: a browser told to trust the lab's CA by its key finds it there.
  writeFileSync(file("chain.pem"), Buffer.concat([readFileSync(file("server.pem")), readFileSync(file("ca.pem"))]));
  writeFileSync(
    file("server+key.pem"),
    Buffer.concat([readFileSync(file("chain.pem")), readFileSync(file("server.key"))]),
  );
  const keyLogDir = file("keys");
  mkdirSync(keyLogDir, { recursive: true });

  return {
    caFile: file("ca.pem"),
    certFile: file("chain.pem"),
    keyFile: file("server.key"),
    pemFile: file("server+key.pem"),
    keyLogDir,
    keyLog: createTlsKeyLog({ dir: keyLogDir }),
    opensslKeyLog: buildOpensslKeyLog(dir),
  };
}

/**
 * The key log library for programs on the system's OpenSSL (gRPC core,
 * nginx, HAProxy), built with the C compiler at hand; undefined without one:
 * their connections to one another then cannot be read, and a run that
 * needs to read one is a lab error that says so.
 */
function buildOpensslKeyLog(dir: string): string | undefined {
  const out = path.join(dir, "openssl-keylog.so");
  const source = path.join(projectRoot, "lab", "faults", "keylog", "openssl-keylog.c");
  const why = failureOf("cc", ["-shared", "-fPIC", "-O2", "-o", out, source, "-ldl"], "no C compiler (cc)");
  if (!why) return out;
  process.stderr.write(
    `lab: --tls: the OpenSSL key log was not built (${why}): the tap cannot read connections between grpcio, nginx and HAProxy\n`,
  );
  return undefined;
}

/** Runs a tool; undefined when it succeeded, else why not in one line (`missing` when it is not installed). */
function failureOf(command: string, args: string[], missing: string): string | undefined {
  try {
    execFileSync(command, args, { stdio: ["ignore", "ignore", "pipe"] });
    return undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return missing;
    return String((e as { stderr?: Buffer }).stderr ?? e)
      .trim()
      .split("\n")[0];
  }
}

/** A server's flags for TLS (every server program takes them: lib/tls-flags.ts). */
export const serverTlsArgs = (tls: LabTls | undefined): string[] =>
  tls ? ["--tls-cert", tls.certFile, "--tls-key", tls.keyFile] : [];

/** A client's flag for TLS. */
export const clientTlsArgs = (tls: LabTls | undefined): string[] => (tls ? ["--tls-ca", tls.caFile] : []);
