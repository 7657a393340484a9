#!/usr/bin/env python3
"""Calls the test gRPC service (grpc_server.py) through a target and prints one JSON line per call kind.

Usage: grpc_client.py --target 127.0.0.1:PORT [--tls --ca FILE --authority NAME] CALL...
CALL: unary:TEXT | fail:CODE | stream:N | bidi:A,B,C | pingpong:A,B,C (bidi, each message sent only after
the answer to the previous one arrived: proves both directions stream through at once)
Each result: {"call": ..., "code": "OK" | status name, "details": ..., "responses": [...],
"trailers": {...}}. Every call has a 10 s deadline.
"""
import argparse
import json
import queue
import grpc


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--ca")
    parser.add_argument("--authority")
    parser.add_argument("calls", nargs="+")
    args = parser.parse_args()
    if args.tls:
        with open(args.ca, "rb") as handle:
            credentials = grpc.ssl_channel_credentials(handle.read())
        options = (("grpc.ssl_target_name_override", args.authority),) if args.authority else ()
        channel = grpc.secure_channel(args.target, credentials, options=options)
    else:
        channel = grpc.insecure_channel(args.target)
    unary = channel.unary_unary("/gateway.test.Echo/Unary")
    server_stream = channel.unary_stream("/gateway.test.Echo/ServerStream")
    bidi = channel.stream_stream("/gateway.test.Echo/BidiStream")
    for call in args.calls:
        kind, _, argument = call.partition(":")
        result = {"call": call, "code": "OK", "details": "", "responses": [], "trailers": {}}
        try:
            if kind == "unary":
                response, info = unary.with_call(argument.encode(), timeout=10)
                result["responses"] = [response.decode()]
                result["trailers"] = dict(info.trailing_metadata() or ())
            elif kind == "fail":
                unary(("fail:" + argument).encode(), timeout=10)
            elif kind == "stream":
                result["responses"] = [item.decode() for item in server_stream(argument.encode(), timeout=10)]
            elif kind == "bidi":
                messages = [part.encode() for part in argument.split(",")]
                result["responses"] = [item.decode() for item in bidi(iter(messages), timeout=10)]
            elif kind == "pingpong":
                outbox = queue.Queue()
                messages = [part.encode() for part in argument.split(",")]

                def requests():
                    while True:
                        item = outbox.get()
                        if item is None:
                            return
                        yield item

                outbox.put(messages[0])
                responses = bidi(requests(), timeout=10)
                for index, item in enumerate(responses):
                    result["responses"].append(item.decode())
                    outbox.put(messages[index + 1] if index + 1 < len(messages) else None)
        except grpc.RpcError as error:
            result["code"] = error.code().name
            result["details"] = error.details()
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
