import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { type ChatRequest, type ChatResponse, ChatResponseSchema } from "../gen/chat_pb.ts";

export interface ChatRepliesOptions {
  /** How many responses to send. Default on the servers: 3. */
  count: number;
  /** Pause between two responses, in ms. Default on the servers: 2000. */
  intervalMs: number;
  /**
   * Stop sending after this many responses and wait, silent, until the call
   * ends: a stalled handler in a live process whose HTTP/2 stack still
   * answers PINGs. Default: never.
   */
  stallAfter?: number;
}

/**
 * The Chat stream both servers send: response 1 at once, then one every
 * intervalMs. The pause is cut short when `signal` aborts (client gone,
 * deadline, shutdown), so a handler never sleeps or writes for a caller that
 * has left: connect-node's ctx.signal and grpc-js's "cancelled" event both
 * feed it. An aborted pause rejects with the signal's reason.
 */
export async function* chatReplies(
  request: ChatRequest,
  options: ChatRepliesOptions,
  signal: AbortSignal,
  /** Awaited before each response is made (the reply flow's room on the connection, issue 21). */
  beforeEach?: () => Promise<void> | undefined,
): AsyncGenerator<ChatResponse> {
  for (let index = 1; index <= options.count; index++) {
    if (options.stallAfter !== undefined && index > options.stallAfter) {
      // Stalled: no message, no end, until the caller leaves (or the server shuts down).
      await new Promise((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      });
    }
    if (index > 1 && options.intervalMs > 0) {
      await sleep(options.intervalMs, undefined, { signal }).catch(() => {
        throw signal.reason;
      });
    }
    await beforeEach?.();
    signal.throwIfAborted();
    yield create(ChatResponseSchema, {
      index,
      text: `hello ${request.name || "anonymous"}, reply ${index} of ${options.count} to ${JSON.stringify(request.text)}`,
      sentAt: timestampNow(),
    });
  }
}
