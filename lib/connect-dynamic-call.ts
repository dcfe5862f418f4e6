import { createClient, type Transport } from "@connectrpc/connect";
import type { CallReporter } from "./call-report.ts";
import type { CallEnd } from "./caller.ts";
import type { ClientSettings } from "./client-flags.ts";
import { type ClientStreamEnd, requestStream, resolveDynamicMethod } from "./dynamic-call.ts";

/**
 * A call to the user's own method (--method, issue 28) with the client made
 * from its schema: unary, server-streaming, client-streaming or bidi.
 */
export async function connectDynamicCall(
  transport: Transport,
  settings: ClientSettings,
  reporter: CallReporter,
  options: { signal: AbortSignal; timeoutMs: number | undefined },
): Promise<CallEnd> {
  const method = resolveDynamicMethod(settings.dynamic as NonNullable<ClientSettings["dynamic"]>);
  // biome-ignore lint/suspicious/noExplicitAny: a client of a service known only at run time
  const client = createClient(method.desc.parent, transport) as any;
  const invoke = client[method.desc.localName];
  const end: ClientStreamEnd = { done: () => {} };
  let index = 0;
  try {
    switch (method.desc.methodKind) {
      case "unary":
        reporter.message(1, method.describe(await invoke(method.request, options)), undefined);
        break;
      case "client_streaming":
        reporter.message(1, method.describe(await invoke(requestStream(method.request), options)), undefined);
        break;
      case "server_streaming":
        for await (const response of invoke(method.request, options))
          reporter.message(++index, method.describe(response), undefined);
        break;
      case "bidi_streaming":
        for await (const response of invoke(requestStream(method.request, end), options))
          reporter.message(++index, method.describe(response), undefined);
        break;
    }
  } finally {
    end.done();
  }
  return { code: 0, message: "" };
}
