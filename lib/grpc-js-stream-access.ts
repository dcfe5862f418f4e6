import type * as http2 from "node:http2";
import { type Metadata, ServerInterceptingCall, type ServerInterceptor } from "@grpc/grpc-js";

/** The metadata key under which the interceptor tells a handler its call's number. */
const key = "x-lab-http2-stream";

/**
 * grpc-js offers no way to learn whether a call's status reached the socket:
 * its handler only hands the status over. The HTTP/2 stream knows (it
 * closes cleanly once its trailers are out), and grpc-js keeps it in a
 * private field of its base server call, which a server interceptor is
 * handed as `nextCall`. This interceptor takes it from there (grpc-js is
 * pinned; server-drain.test.ts fails loudly if an upgrade moves it) and
 * tells the handler which one it is through its metadata.
 */
export function createStreamAccess(): {
  interceptor: ServerInterceptor;
  /** The HTTP/2 stream of the call whose metadata this is, once. */
  take(metadata: Metadata): http2.ServerHttp2Stream | undefined;
} {
  const streams = new Map<string, http2.ServerHttp2Stream>();
  let next = 1;
  return {
    interceptor: (_method, nextCall) => {
      const stream = (nextCall as unknown as { stream?: http2.ServerHttp2Stream }).stream;
      const id = String(next++);
      if (stream) {
        streams.set(id, stream);
        // A call refused before its handler ran must not leave its stream here.
        stream.once("close", () => setImmediate(() => streams.delete(id)));
      }
      return new ServerInterceptingCall(nextCall, {
        start(startNext) {
          startNext({
            onReceiveMetadata(metadata, metadataNext) {
              metadata.set(key, id);
              metadataNext(metadata);
            },
          });
        },
      });
    },
    take(metadata) {
      const id = metadata.get(key)[0];
      if (typeof id !== "string") return undefined;
      const stream = streams.get(id);
      streams.delete(id);
      return stream;
    },
  };
}
