import { InterceptingCall, type Interceptor, status } from "@grpc/grpc-js";
import { type IdleTimeoutOptions, idleTimeoutMessage } from "./idle-timeout-interceptor.ts";

/**
 * The grpc-js twin of createIdleTimeoutInterceptor: cancels a call with
 * DEADLINE_EXCEEDED "idle timeout: no message for N ms" when no message
 * arrived within idleTimeoutMs, counted from the start and from each message.
 *
 *   new Client(target, credentials, { interceptors: [createGrpcJsIdleTimeoutInterceptor({ idleTimeoutMs: 30_000 })] })
 */
export function createGrpcJsIdleTimeoutInterceptor(options: IdleTimeoutOptions): Interceptor {
  const { idleTimeoutMs } = options;
  return (callOptions, nextCall) => {
    let timer: NodeJS.Timeout | undefined;
    const call: InterceptingCall = new InterceptingCall(nextCall(callOptions), {
      start(metadata, _listener, next) {
        const arm = () => {
          clearTimeout(timer);
          timer = setTimeout(
            () => call.cancelWithStatus(status.DEADLINE_EXCEEDED, idleTimeoutMessage(idleTimeoutMs)),
            idleTimeoutMs,
          );
        };
        arm();
        next(metadata, {
          onReceiveMessage(message, nextMessage) {
            arm();
            nextMessage(message);
          },
          onReceiveStatus(callStatus, nextStatus) {
            clearTimeout(timer);
            nextStatus(callStatus);
          },
        });
      },
    });
    return call;
  };
}
