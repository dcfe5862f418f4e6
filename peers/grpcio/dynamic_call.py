"""A call to a method the project's code does not know (issue 28: the user's own service),
made from its schema: a binary FileDescriptorSet with its imports (buf build -o), the method's
full name and the request in protobuf's JSON form. The same flags as lib/dynamic-call.ts."""

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

from lab_common import UsageError

_pools = {}


def _pool(path):
    """The schema's descriptor pool, once per file: an agent makes many calls."""
    if path in _pools:
        return _pools[path]
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise UsageError("--descriptor-set: cannot read %s: %s" % (path, e.strerror))
    try:
        files = descriptor_pb2.FileDescriptorSet.FromString(data).file
        pool = descriptor_pool.DescriptorPool()
        for file in files:
            pool.Add(file)
    except Exception as e:  # noqa: BLE001 - any decoding or linking error is the file's
        raise UsageError("--descriptor-set: %s is not a FileDescriptorSet with its imports: %s" % (path, e))
    _pools[path] = (pool, files)
    return _pools[path]


class DynamicMethod:
    """The method, its request parsed, and how to encode, decode and show its messages."""

    def __init__(self, method, request_json, descriptor_set):
        pool, files = _pool(descriptor_set)
        service_name, _, method_name = method.lstrip("/").partition("/")
        try:
            self.desc = pool.FindServiceByName(service_name).methods_by_name[method_name]
        except KeyError:
            known = ["%s.%s/%s" % (f.package, s.name, m.name) if f.package else "%s/%s" % (s.name, m.name)
                     for f in files for s in f.service for m in s.method]
            raise UsageError("--method %s: not in the schema (it has %s)" % (method, ", ".join(known[:8]) or "no service"))
        self.path = "/%s/%s" % (service_name, method_name)
        self.input = message_factory.GetMessageClass(self.desc.input_type)
        self.output = message_factory.GetMessageClass(self.desc.output_type)
        try:
            self.request = json_format.Parse(request_json, self.input())
        except json_format.ParseError as e:
            raise UsageError("--request is not a %s: %s" % (self.desc.input_type.full_name, str(e).splitlines()[0]))

    @property
    def kind(self):
        if self.desc.client_streaming:
            return "bidi" if self.desc.server_streaming else "client-streaming"
        return "server-streaming" if self.desc.server_streaming else "unary"

    def describe(self, response):
        return json_format.MessageToJson(response, indent=None)[:300]

    def start(self, channel, timeout, wait_for_ready, until):
        """Starts the call on a grpc.aio channel: its call object. A bidi call's send side stays open until `until` is set."""
        ser, de = self.input.SerializeToString, self.output.FromString
        kind = self.kind
        if kind == "unary":
            return channel.unary_unary(self.path, request_serializer=ser, response_deserializer=de)(
                self.request, timeout=timeout, wait_for_ready=wait_for_ready
            )
        if kind == "server-streaming":
            return channel.unary_stream(self.path, request_serializer=ser, response_deserializer=de)(
                self.request, timeout=timeout, wait_for_ready=wait_for_ready
            )
        if kind == "client-streaming":
            return channel.stream_unary(self.path, request_serializer=ser, response_deserializer=de)(
                iter([self.request]), timeout=timeout, wait_for_ready=wait_for_ready
            )
        request = self.request

        async def requests():
            yield request
            await until.wait()

        return channel.stream_stream(self.path, request_serializer=ser, response_deserializer=de)(
            requests(), timeout=timeout, wait_for_ready=wait_for_ready
        )
