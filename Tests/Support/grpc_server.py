#!/usr/bin/env python3
"""A gRPC server for the gateway's gRPC tests (Debian python3-grpcio, no generated code: raw bytes).

Methods of service `gateway.test.Echo`:
  Unary        echoes the request; a request starting with b"fail:" aborts with the status code after
               the colon (e.g. b"fail:5" -> NOT_FOUND) and message "asked to fail".
  ServerStream sends int(request) responses b"item-0", b"item-1", ...
  BidiStream   echoes every request message back, upper-cased, as it arrives.
Writes the bound port to --port-file once serving (h2c), and with --tls-cert/--tls-key also serves TLS
on a second port written to --tls-port-file.
"""
import argparse
import concurrent.futures
import grpc


def unary(request, context):
    if request.startswith(b"fail:"):
        context.abort(grpc.StatusCode(_code(int(request[5:]))), "asked to fail")
    context.set_trailing_metadata((("x-trailer", "unary"),))
    return request


def _code(number):
    for code in grpc.StatusCode:
        if code.value[0] == number:
            return code.value
    return grpc.StatusCode.UNKNOWN.value


def server_stream(request, context):
    for index in range(int(request)):
        yield b"item-%d" % index


def bidi_stream(requests, context):
    for request in requests:
        yield request.upper()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--tls-port-file")
    args = parser.parse_args()
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream),
        "BidiStream": grpc.stream_stream_rpc_method_handler(bidi_stream),
    }
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=16))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("gateway.test.Echo", handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    tls_port = None
    if args.tls_cert:
        with open(args.tls_cert, "rb") as cert, open(args.tls_key, "rb") as key:
            credentials = grpc.ssl_server_credentials(((key.read(), cert.read()),))
        tls_port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    if tls_port is not None:
        with open(args.tls_port_file, "w") as handle:
            handle.write(str(tls_port))
    with open(args.port_file, "w") as handle:
        handle.write(str(port))
    server.wait_for_termination()


if __name__ == "__main__":
    main()
