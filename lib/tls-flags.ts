import { readFileSync } from "node:fs";
import { type FlagSpecs, type Flags, UsageError } from "./cli.ts";

/**
 * TLS for the Chat programs (issue 19): browsers speak HTTP/2 only over TLS,
 * and so does nearly every deployment. Without these flags every program
 * speaks h2c, as before.
 */
export const serverTlsFlags: FlagSpecs = {
  "tls-cert": {
    type: "string",
    help: "serve HTTP/2 over TLS (ALPN h2) with this PEM certificate chain; needs --tls-key",
    default: "none: h2c",
  },
  "tls-key": { type: "string", help: "the PEM private key of --tls-cert", default: "none" },
};

export const clientTlsFlags: FlagSpecs = {
  "tls-ca": {
    type: "string",
    help: "speak HTTP/2 over TLS (ALPN h2), trusting the server certificates this PEM CA signed",
    default: "none: h2c",
  },
};

/** A server's certificate and key, as PEM. */
export interface ServerTls {
  cert: Buffer;
  key: Buffer;
}

/** Reads a PEM file a flag names; a one-line UsageError if it cannot. */
function readPem(flags: Flags, name: string): Buffer {
  const file = flags[name];
  if (typeof file !== "string" || file === "") throw new UsageError(`--${name} needs a file`);
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (e) {
    throw new UsageError(
      `--${name}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  if (!pem.includes("-----BEGIN ")) throw new UsageError(`--${name}: ${file} is not PEM`);
  return pem;
}

/** --tls-cert and --tls-key, both or neither. */
export function readServerTls(flags: Flags): ServerTls | undefined {
  const cert = flags["tls-cert"] !== undefined;
  const key = flags["tls-key"] !== undefined;
  if (!cert && !key) return undefined;
  if (cert !== key) throw new UsageError("--tls-cert and --tls-key go together");
  return { cert: readPem(flags, "tls-cert"), key: readPem(flags, "tls-key") };
}

/** --tls-ca: the CA a client trusts, or undefined for h2c. */
export function readClientTls(flags: Flags): Buffer | undefined {
  return flags["tls-ca"] === undefined ? undefined : readPem(flags, "tls-ca");
}
