import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";

/**
 * The schema of a service, asked of the server itself with gRPC server
 * reflection (grpc.reflection.v1, else v1alpha: the two differ only in
 * their package): the file that defines `symbol` and every file it imports,
 * in an order where each file comes after its imports, as the bytes of
 * FileDescriptorProtos. Only the few fields the lab needs are encoded here
 * (ServerReflectionRequest 3 file_by_filename, 4 file_containing_symbol;
 * ServerReflectionResponse 4 file_descriptor_response, its 1 the files;
 * 7 error_response, its 2 the message).
 */
export async function reflectSchema(
  address: string,
  symbol: string,
  /** The CA to trust over TLS (PEM); default none: h2c. */
  ca?: Buffer,
  timeoutMs = 5000,
): Promise<Uint8Array[]> {
  // Over TLS the name checked is localhost, which the lab's certificate and --tls-ca's hold: an IP
  // address as the TLS server name is refused by RFC 6066 (Node warns, DEP0123).
  const client = ca
    ? new grpc.Client(address, grpc.credentials.createSsl(ca), { "grpc.ssl_target_name_override": "localhost" })
    : new grpc.Client(address, grpc.credentials.createInsecure());
  try {
    let last: Error | undefined;
    for (const version of ["v1", "v1alpha"]) {
      try {
        return await collect(
          client,
          `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`,
          symbol,
          timeoutMs,
        );
      } catch (e) {
        last = e as Error;
        if ((e as grpc.ServiceError).code !== grpc.status.UNIMPLEMENTED) break;
      }
    }
    throw last ?? new Error("no answer");
  } finally {
    client.close();
  }
}

/** One request of either kind, encoded. */
const request = (field: 3 | 4, value: string) => Buffer.from(new BinaryWriter().tag(field, 2).string(value).finish());

/** The files of a response, or the server's error message. */
function decodeResponse(bytes: Buffer): { files: Uint8Array[]; error?: string } {
  const files: Uint8Array[] = [];
  let error: string | undefined;
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wire] = reader.tag();
    if (field === 4 && wire === 2) {
      const inner = new BinaryReader(reader.bytes());
      while (inner.pos < inner.len) {
        const [f, w] = inner.tag();
        if (f === 1 && w === 2) files.push(inner.bytes());
        else inner.skip(w);
      }
    } else if (field === 7 && wire === 2) {
      const inner = new BinaryReader(reader.bytes());
      while (inner.pos < inner.len) {
        const [f, w] = inner.tag();
        if (f === 2 && w === 2) error = inner.string();
        else inner.skip(w);
      }
      error ??= "error";
    } else reader.skip(wire);
  }
  return { files, error };
}

/** Asks for the symbol's file, then for each import not yet sent, on one stream. */
function collect(client: grpc.Client, method: string, symbol: string, timeoutMs: number): Promise<Uint8Array[]> {
  return new Promise((resolve, reject) => {
    const call = client.makeBidiStreamRequest(
      method,
      (b: Buffer) => b,
      (b: Buffer) => b,
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
    );
    const byName = new Map<string, { bytes: Uint8Array; imports: string[] }>();
    let asked = 1;
    call.on("data", (bytes: Buffer) => {
      asked--;
      const { files, error } = decodeResponse(bytes);
      if (error) {
        call.cancel();
        reject(new Error(`the server's reflection: ${error}`));
        return;
      }
      for (const file of files) {
        const proto = fromBinary(FileDescriptorProtoSchema, file);
        byName.set(proto.name, { bytes: file, imports: proto.dependency });
      }
      const missing = [...byName.values()].flatMap((f) => f.imports).filter((name) => !byName.has(name));
      for (const name of new Set(missing)) {
        asked++;
        byName.set(name, { bytes: new Uint8Array(), imports: [] });
        call.write(request(3, name));
      }
      if (asked === 0) {
        call.end();
        resolve(inImportOrder(byName));
      }
    });
    call.on("error", reject);
    call.write(request(4, symbol));
  });
}

/** The files, each after the files it imports (a descriptor pool takes them only so). */
function inImportOrder(byName: Map<string, { bytes: Uint8Array; imports: string[] }>): Uint8Array[] {
  const done = new Set<string>();
  const out: Uint8Array[] = [];
  const visit = (name: string) => {
    if (done.has(name)) return;
    done.add(name);
    const file = byName.get(name);
    for (const dep of file?.imports ?? []) visit(dep);
    if (file && file.bytes.length > 0) out.push(file.bytes);
  };
  for (const name of byName.keys()) visit(name);
  return out;
}

/** FileDescriptorProtos as the bytes of one FileDescriptorSet (its field 1, repeated). */
export function descriptorSetBytes(files: readonly Uint8Array[]): Uint8Array {
  const writer = new BinaryWriter();
  for (const file of files) writer.tag(1, 2).bytes(file);
  return writer.finish();
}
