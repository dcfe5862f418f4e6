"""A price ticker on grpcio, written as its users write one: the lab's worked example of "your own
client on a long-lived channel" (docs/your-service.md). It knows nothing of the lab.

    python examples/prices/ticker.py --addr 127.0.0.1:50061

It opens one channel at its start, as applications do, and asks for a price every 100 ms, each call
with a 1 s deadline, until it is stopped. Each call's end is one line of JSON: its code and its time.
"""

import argparse
import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

import grpc  # noqa: E402

from shop.v1 import prices_pb2, prices_pb2_grpc  # noqa: E402

DEADLINE_S = 1.0
EVERY_S = 0.1


async def tick(addr, sku):
    async with grpc.aio.insecure_channel(addr) as channel:
        stub = prices_pb2_grpc.PricesStub(channel)
        while True:
            start = time.monotonic()
            try:
                await stub.Get(prices_pb2.GetRequest(sku=sku), timeout=DEADLINE_S)
                code = grpc.StatusCode.OK
            except grpc.aio.AioRpcError as e:
                code = e.code()
            ms = round((time.monotonic() - start) * 1000)
            print(json.dumps({"code": code.name, "ms": ms}), flush=True)
            await asyncio.sleep(max(0.0, EVERY_S - (time.monotonic() - start)))


def main():
    parser = argparse.ArgumentParser(description="ask the price service for a price, every 100 ms")
    parser.add_argument("--addr", default="127.0.0.1:50061")
    parser.add_argument("--sku", default="tea")
    args = parser.parse_args()
    try:
        asyncio.run(tick(args.addr, args.sku))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
