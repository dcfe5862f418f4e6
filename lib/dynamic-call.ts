import { readFileSync } from "node:fs";
import {
  createFileRegistry,
  type DescMessage,
  type DescMethod,
  fromBinary,
  fromJson,
  isFieldSet,
  type JsonValue,
  type Message,
  type Registry,
  toBinary,
  toJson,
} from "@bufbuild/protobuf";
import { type DescriptorProto, FieldDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { UsageError } from "./cli.ts";

/**
 * A call to a method the project's code does not know (issue 28: the user's
 * own service), made from its schema: a binary FileDescriptorSet (what
 * `buf build -o` and `protoc --descriptor_set_out --include_imports`
 * write), the method's full name, and the request in protobuf's JSON form.
 */
export interface DynamicCallFlags {
  /** "pkg.v1.Service/Method". */
  method: string;
  /** The request, protobuf JSON. */
  request: string;
  /** A binary FileDescriptorSet file with the method's file and its imports. */
  descriptorSet: string;
}

/** A method found in a schema, ready to call: its path, its kind, and the request as bytes. */
export interface DynamicMethod {
  /** "/pkg.v1.Service/Method", the HTTP/2 :path. */
  path: string;
  desc: DescMethod;
  /** The request, encoded. */
  requestBytes: Uint8Array;
  /** The request as a message of the method's input type. */
  request: Message;
  registry: Registry;
  /** A response's bytes as one line of JSON (protobuf's JSON form), for the client's message lines. */
  describe(response: Message): string;
  decode(bytes: Uint8Array): Message;
}

/** The schema's registry, once per file: an agent makes many calls. */
const registries = new Map<string, Registry>();

/** Reads a FileDescriptorSet file into a registry; a UsageError names what is wrong. */
export function loadRegistry(file: string): Registry {
  const known = registries.get(file);
  if (known) return known;
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new UsageError(`--descriptor-set: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  let registry: Registry;
  try {
    const set = fromBinary(FileDescriptorSetSchema, bytes);
    for (const file of set.file) withJsonNames(file.messageType);
    registry = createFileRegistry(set);
  } catch (e) {
    throw new UsageError(
      `--descriptor-set: ${file} is not a FileDescriptorSet with its imports: ${(e as Error).message.split("\n")[0]}`,
    );
  }
  registries.set(file, registry);
  return registry;
}

/**
 * Gives every field its JSON name where the set has none: Python's protobuf serializes its
 * descriptors without json_name (grpcio's server reflection sends them so), and the registry
 * would then name every field "" in JSON. The name protoc gives: underscores dropped, the letter
 * after each one upper-cased.
 */
function withJsonNames(messages: readonly DescriptorProto[]): void {
  for (const message of messages) {
    for (const field of message.field) {
      if (!isFieldSet(field, FieldDescriptorProtoSchema.field.jsonName)) {
        field.jsonName = field.name.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
      }
    }
    withJsonNames(message.nestedType);
  }
}

/** Every method of every service in a registry, as "pkg.Service/Method". */
export function methodNames(registry: Registry): string[] {
  const names: string[] = [];
  for (const type of registry) {
    if (type.kind !== "service") continue;
    for (const m of type.methods) names.push(`${type.typeName}/${m.name}`);
  }
  return names;
}

/**
 * The method of `flags` in its schema, its request parsed: a UsageError in
 * one line for a method the schema has not (with the methods it has) or a
 * request that does not parse as the method's input.
 */
export function resolveDynamicMethod(flags: DynamicCallFlags): DynamicMethod {
  const registry = loadRegistry(flags.descriptorSet);
  const [serviceName, methodName, ...rest] = flags.method.replace(/^\//, "").split("/");
  const service = registry.getService(serviceName ?? "");
  const desc = service?.methods.find((m) => m.name === methodName);
  if (!desc || rest.length > 0) {
    const known = methodNames(registry);
    throw new UsageError(
      `--method ${flags.method}: not in the schema${known.length > 0 ? ` (it has ${known.slice(0, 8).join(", ")}${known.length > 8 ? ", ..." : ""})` : " (it has no service)"}`,
    );
  }
  const request = parseRequest(desc.input, flags.request, registry);
  return {
    path: `/${serviceName}/${methodName}`,
    desc,
    request,
    requestBytes: toBinary(desc.input, request),
    registry,
    describe: (response) =>
      JSON.stringify(toJson(desc.output, response, { registry, alwaysEmitImplicit: false })).slice(0, 300),
    decode: (bytes) => fromBinary(desc.output, bytes),
  };
}

/** A request in protobuf JSON as a message of `schema`; a UsageError in one line when it does not parse. */
export function parseRequest(schema: DescMessage, json: string, registry?: Registry): Message {
  let value: JsonValue;
  try {
    value = JSON.parse(json) as JsonValue;
  } catch (e) {
    throw new UsageError(`--request is not JSON: ${(e as Error).message.split("\n")[0]}`);
  }
  try {
    return fromJson(schema, value, { registry });
  } catch (e) {
    throw new UsageError(`--request is not a ${schema.typeName}: ${(e as Error).message.split("\n")[0]}`);
  }
}

/** The kind of call a method makes, as the lab names it. */
export function methodKind(desc: DescMethod): "unary" | "server-streaming" | "client-streaming" | "bidi" {
  switch (desc.methodKind) {
    case "unary":
      return "unary";
    case "server_streaming":
      return "server-streaming";
    case "client_streaming":
      return "client-streaming";
    case "bidi_streaming":
      return "bidi";
  }
}

/** Ends a bidi call's request stream: the caller calls done() when the call is over. */
export interface ClientStreamEnd {
  done(): void;
}

/**
 * The request stream of a streaming call: the one request, then, for a bidi
 * call (`end` given), the send side held open until the call is over, as a
 * chat or watch client keeps it (a server that answers until the client
 * closes would otherwise end the stream at once); a client-streaming call
 * closes it after the request, or no response could come.
 */
export async function* requestStream(request: Message, end?: ClientStreamEnd): AsyncGenerator<Message> {
  yield request;
  if (end) await new Promise<void>((resolve) => (end.done = resolve));
}
