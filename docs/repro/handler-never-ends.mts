/**
 * connect-node 2.1.2: a server-streaming handler never ends when its client
 * leaves while a reply waits on HTTP/2 flow control.
 *
 *   node --import tsx docs/repro/handler-never-ends.mts          # the handler is still suspended 2 s later
 *   node --import tsx docs/repro/handler-never-ends.mts --fixed  # with lib/connect-write-unblock.ts: it ends
 *
 * A client with a flow-control window of 0 calls; the reply (100 kB) cannot
 * leave; connect-node's write waits for the response's "drain" or "error".
 * The client resets its stream. Node closes the stream, calls no pending
 * write back, and emits neither event: connect-node waits for good, and the
 * handler, suspended at its `yield`, never learns that ctx.signal aborted.
 */
import * as http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { ChatRequestSchema, ChatService } from "../../gen/chat_pb.ts";
import { unblockWritesOnClose } from "../../lib/connect-write-unblock.ts";

const fixed = process.argv.includes("--fixed");
let handler = "not started";
const routes = (router: ConnectRouter) =>
  router.service(ChatService, {
    async *chat(request, ctx) {
      handler = "running";
      try {
        for (let i = 1; i <= 3; i++) {
          yield { index: i, text: `hello ${request.name}` };
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        handler = "ended: done";
      } catch (e) {
        handler = `ended: ${String(e)} (signal aborted: ${ctx.signal.aborted})`;
        throw e;
      }
    },
  });
const adapter = connectNodeAdapter({ routes });
const server = http2.createServer((req, res) => {
  if (fixed) unblockWritesOnClose(req.stream, res);
  adapter(req, res);
});
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as { port: number };
  const session = http2.connect(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: 0 } });
  const message = toBinary(ChatRequestSchema, create(ChatRequestSchema, { name: "x".repeat(100_000) }));
  const body = Buffer.alloc(5 + message.length);
  body.writeUInt32BE(message.length, 1);
  body.set(message, 5);
  const stream = session.request({
    ":method": "POST",
    ":path": "/chat.v1.ChatService/Chat",
    "content-type": "application/grpc",
    te: "trailers",
  });
  stream.on("error", () => {});
  stream.end(body);
  stream.once("response", () => {
    setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), 200);
    setTimeout(() => {
      console.log(`2 s after the client's RST_STREAM(CANCEL), the handler is: ${handler}`);
      process.exit(handler === "running" ? 1 : 0);
    }, 2200);
  });
});
