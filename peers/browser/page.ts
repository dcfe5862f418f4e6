/**
 * What runs in the browser's page (issue 19): one Chat call with
 * connect-web, over the page's own `fetch`, reporting each message and its
 * end by the page's own clock. peers/browser-client.ts bundles it for the
 * page (esbuild, IIFE) and drives it: `labCall(args)` makes the call,
 * `labAbort(reason)` cancels it, and every message goes out through
 * `labEvent`, a function the driver exposed to the page.
 *
 * A page has three remedies, all here: a deadline (`timeoutMs`), an idle
 * timeout (lib/idle-timeout-interceptor.ts, the same code connect-node's
 * callers use) and an AbortSignal. It cannot set HTTP/2 keepalive: what its
 * browser does with PINGs is the browser's.
 */
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { ChatService } from "../../gen/chat_pb.ts";
import { createIdleTimeoutInterceptor } from "../../lib/idle-timeout-interceptor.ts";
import { epochMs } from "../../lib/wall-clock.ts";

/** What the driver asks for. */
export interface PageCall {
  protocol: "connect" | "grpc-web";
  name: string;
  text: string;
  timeoutMs?: number;
  idleTimeoutMs?: number;
}

/** How the call ended, by the page's clock (ms since the epoch, lib/wall-clock.ts). */
export interface PageEnd {
  code: number;
  message: string;
  endedAt: number;
  /** Messages the page told of: the driver waits for that many before it reports the end. */
  received: number;
  /** When the call started: the driver's own if the start event has not reached it yet. */
  startedAt: number;
}

/** What the page tells the driver as it happens, by the page's clock. */
export type PageEvent =
  | { event: "start"; at: number }
  | { event: "message"; index: number; text: string; sentAt?: number; at: number };

declare global {
  interface Window {
    labCall(call: PageCall): Promise<PageEnd>;
    labAbort(reason: string): void;
    labEvent(event: PageEvent): Promise<void>;
  }
}

const abort = new AbortController();

window.labAbort = (reason) => abort.abort(new ConnectError(reason, Code.Canceled));

window.labCall = async (call) => {
  const interceptors: Interceptor[] =
    call.idleTimeoutMs !== undefined ? [createIdleTimeoutInterceptor({ idleTimeoutMs: call.idleTimeoutMs })] : [];
  // The page's origin is the server's (the driver loads it there): same-origin fetches, no CORS.
  // Binary, as connect-node's transports and the fault peer speak it (connect-web's Connect default is JSON).
  const options = { baseUrl: location.origin, interceptors, useBinaryFormat: true };
  const transport = call.protocol === "connect" ? createConnectTransport(options) : createGrpcWebTransport(options);
  const client = createClient(ChatService, transport);
  // Each event is sent without waiting for the driver; the end says how many messages there were,
  // and the driver waits for them itself. (Waiting here for the driver's answer to each event held
  // Firefox pages past the watchdog after their stream had ended: the tap showed the whole stream.)
  let received = 0;
  const tell = (event: PageEvent) => {
    if (event.event === "message") received++;
    void window.labEvent(event).catch(() => {});
  };
  const startedAt = epochMs(performance.now());
  const end = (code: number, message: string): PageEnd => ({
    code,
    message,
    endedAt: epochMs(performance.now()),
    received,
    startedAt,
  });
  tell({ event: "start", at: startedAt });
  try {
    for await (const response of client.chat(
      { name: call.name, text: call.text },
      { signal: abort.signal, timeoutMs: call.timeoutMs },
    )) {
      const at = epochMs(performance.now());
      const sentAt = response.sentAt ? Number(response.sentAt.seconds) * 1000 + response.sentAt.nanos / 1e6 : undefined;
      tell({ event: "message", index: response.index, text: response.text, sentAt, at });
    }
    return end(0, "");
  } catch (e) {
    const error = ConnectError.from(e);
    return end(error.code, error.rawMessage);
  }
};
