/**
 * The proxies the lab puts between client and server (issue 14): real ones
 * from Debian, each run by the lab as a foreground child process with a
 * config it writes, on loopback ports. Adding a proxy is one entry here.
 *
 * A proxy process serves many runs at once through its slots: each slot is
 * a port the proxy listens on and a port it forwards to, where the run's own
 * relay (the proxy-server leg of its tap) listens while the run lasts.
 */
import { spawnSync } from "node:child_process";
import type { LabSettings } from "./settings.ts";

/** How a proxy is set up for a family of cases: its own liveness settings, the remedies of issue 14. */
export type ProxyVariant = "default" | "upstream-timeout" | "health-check";

export interface ProxySlot {
  /** Where the proxy listens for the client (through the client-proxy relay). */
  listen: number;
  /** Where the proxy forwards to: the proxy-server relay of the run that holds the slot. */
  upstream: number;
}

/** --tls (issue 19): the files a proxy serves and checks with (lab/engine/lab-tls.ts). */
export interface ProxyTls {
  /** The CA that signed the servers' certificate: the proxy checks its upstream with it. */
  caFile: string;
  certFile: string;
  keyFile: string;
  /** Certificate and key in one file. */
  pemFile: string;
}

export interface ProxyConfigOptions {
  /** A folder of the proxy's own (pid and temp files). */
  dir: string;
  slots: readonly ProxySlot[];
  variant: ProxyVariant;
  settings: LabSettings;
  /** TLS on both sides of the proxy, ALPN h2 (issue 19). Default: none, h2c. */
  tls?: ProxyTls;
}

export interface ProxyStack {
  id: string;
  /** The program, looked up on PATH. */
  command: string;
  /** One line to add it where it is missing. */
  install: string;
  /** Its version, as it reports it; undefined when it is not installed. */
  version(): string | undefined;
  /** Its config for these slots. */
  config(options: ProxyConfigOptions): string;
  /** Its command line in the foreground, given the config's path. */
  args(configPath: string, dir: string): string[];
  /** The variants it has (HAProxy checks its servers; nginx open source does not). */
  variants: readonly ProxyVariant[];
  /** What each of its variants sets, for the report. */
  describe(variant: ProxyVariant, settings: LabSettings): string;
}

/** The proxies' timeouts everywhere else: long enough that no run of the lab meets them. */
const quietS = 60;

/** A program's version, from what it prints on either stream (nginx -v writes to stderr); undefined when it is missing. */
function versionOf(command: string, args: string[], pattern: RegExp): string | undefined {
  const run = spawnSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });
  if (run.error) return undefined;
  return pattern.exec(`${run.stdout}${run.stderr}`)?.[1];
}

/** The upstream timeout of the +upstream-timeout cases, ms: the client's idle timeout, the lab's yardstick for silence. */
export const upstreamTimeoutMs = (s: LabSettings) => s.idleTimeoutMs;

export const nginx: ProxyStack = {
  id: "nginx",
  command: "nginx",
  install: "apt-get install nginx",
  version: () => versionOf("nginx", ["-v"], /nginx\/(\S+)/),
  variants: ["default", "upstream-timeout"],
  describe: (variant, s) =>
    variant === "upstream-timeout"
      ? `grpc_read_timeout and grpc_send_timeout ${upstreamTimeoutMs(s)}ms`
      : `grpc_read_timeout and grpc_send_timeout ${quietS}s (nginx's own default)`,
  config({ dir, slots, variant, settings, tls }) {
    const timeout = variant === "upstream-timeout" ? `${upstreamTimeoutMs(settings)}ms` : `${quietS}s`;
    // Over TLS: the client's hop ends here with the lab's certificate; the server's hop is a TLS
    // connection of nginx's own that checks the server's certificate against the lab's CA.
    const serverTls = tls
      ? `
    ssl_certificate ${tls.certFile};
    ssl_certificate_key ${tls.keyFile};
    ssl_protocols TLSv1.3;`
      : "";
    const upstreamTls = tls
      ? `
      grpc_ssl_verify on;
      grpc_ssl_trusted_certificate ${tls.caFile};
      grpc_ssl_name localhost;
      grpc_ssl_protocols TLSv1.3;`
      : "";
    const servers = slots
      .map(
        (slot) => `  server {
    listen 127.0.0.1:${slot.listen}${tls ? " ssl" : ""} http2;${serverTls}
    location / {
      grpc_pass ${tls ? "grpcs" : "grpc"}://127.0.0.1:${slot.upstream};${upstreamTls}
      # nginx's defaults but for the +upstream-timeout cases: 60 s between two reads or writes.
      grpc_read_timeout ${timeout};
      grpc_send_timeout ${timeout};
      grpc_connect_timeout 2s;
    }
  }`,
      )
      .join("\n");
    return `# Written by the lab for one run: nginx as a gRPC proxy on loopback (grpc_pass to h2c).
daemon off;
master_process off;
worker_processes 1;${
      tls
        ? `
# nginx clears its environment as it starts; the key log its preloaded OpenSSL writes to is kept, so
# that its own TLS connections to the server are read too, whether or not the server logs its own.
env SSLKEYLOGFILE;`
        : ""
    }
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${servers}
}
`;
  },
  args: (configPath, dir) => ["-c", configPath, "-p", dir, "-e", "stderr"],
};

export const haproxy: ProxyStack = {
  id: "haproxy",
  command: "haproxy",
  install: "apt-get install haproxy",
  version: () => versionOf("haproxy", ["-v"], /HAProxy version (\S+)/),
  variants: ["default", "upstream-timeout", "health-check"],
  describe: (variant, s) =>
    variant === "upstream-timeout"
      ? `timeout server and timeout tunnel ${upstreamTimeoutMs(s)}ms`
      : variant === "health-check"
        ? `an HTTP/2 health check every ${s.keepalive.intervalMs}ms (grpc.health.v1 Check in the Connect protocol, SERVING expected, ${s.keepalive.timeoutMs}ms to answer), fall 1, on-marked-down shutdown-sessions`
        : `timeout server and timeout tunnel ${quietS}s`,
  config({ slots, variant, settings, tls }) {
    const timeout = variant === "upstream-timeout" ? `${upstreamTimeoutMs(settings)}ms` : `${quietS}s`;
    // A TCP connect would pass against a suspended server (its kernel still accepts): ask the
    // server itself, grpc.health.v1 Check in the Connect protocol (JSON, so that the check is text).
    const check =
      variant === "health-check"
        ? ` check ${tls ? "check-ssl check-alpn h2" : "check-proto h2"} inter ${settings.keepalive.intervalMs}ms fall 1 rise 1 on-marked-down shutdown-sessions`
        : "";
    // Over TLS: the lab's certificate towards the client, ALPN h2; towards the server a TLS
    // connection of HAProxy's own that checks the server's certificate against the lab's CA. HTTP/2
    // by ALPN, not `proto h2`: with check-proto h2 over TLS, HAProxy 2.6.12's check sent its
    // preface and SETTINGS and never its request (Layer7 timeout against every server, issue 19).
    const bindTls = tls ? ` ssl crt ${tls.pemFile} alpn h2 ssl-min-ver TLSv1.3` : "";
    const serverTls = tls
      ? ` ssl verify required ca-file ${tls.caFile} verifyhost localhost alpn h2 ssl-min-ver TLSv1.3`
      : "";
    const httpCheck =
      variant === "health-check"
        ? `
  option httpchk
  # A host (HAProxy sends it as :authority): without one nghttp2 refuses the request (PROTOCOL_ERROR).
  http-check send meth POST uri /grpc.health.v1.Health/Check ver HTTP/2 hdr host 127.0.0.1 hdr content-type application/json body "{}"
  http-check expect string SERVING
  timeout check ${settings.keepalive.timeoutMs}ms`
        : "";
    const blocks = slots
      .map(
        (slot, i) => `frontend fe${i}
  bind 127.0.0.1:${slot.listen}${tls ? bindTls : " proto h2"}
  default_backend be${i}
backend be${i}${httpCheck}
  server s${i} 127.0.0.1:${slot.upstream}${tls ? serverTls : " proto h2"}${check}`,
      )
      .join("\n");
    return `# Written by the lab for one run: HAProxy with HTTP/2 on both sides, on loopback.
global
  log stderr format short local0 warning
  maxconn 4096
defaults
  mode http
  log global
  timeout connect 2s
  timeout client ${quietS}s
  # The +upstream-timeout cases: silence from the server this long ends the stream.
  timeout server ${timeout}
  timeout tunnel ${timeout}
${blocks}
`;
  },
  args: (configPath) => ["-f", configPath, "-db"],
};

export const proxyStacks: readonly ProxyStack[] = [nginx, haproxy];

let versions: Map<string, string | undefined> | undefined;
/** Each proxy's version as it reports it, undefined where it is not installed (asked once). */
export function proxyVersions(): ReadonlyMap<string, string | undefined> {
  versions ??= new Map(proxyStacks.map((p) => [p.id, p.version()]));
  return versions;
}
