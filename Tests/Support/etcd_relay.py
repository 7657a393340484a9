#!/usr/bin/env python3
"""A TCP relay between a gateway and etcd that a test can cut and restore.

Listens on 127.0.0.1 (port 0: the kernel picks; written to --port-file) and relays every connection to
--target. SIGUSR1 cuts: open connections are closed and new ones are accepted and closed at once, as if
etcd were gone. SIGWINCH freezes the connections open at that moment (a watch stream stops delivering)
while new ones relay as usual, then writes the file --port-file + ".frozen". SIGUSR2 restores relaying,
thaws frozen connections and removes that file.
"""
import argparse
import os
import signal
import socket
import threading

parser = argparse.ArgumentParser()
parser.add_argument("--target", required=True, help="host:port to relay to")
parser.add_argument("--port-file", required=True)
args = parser.parse_args()
host, port = args.target.rsplit(":", 1)
target = (host, int(port))

lock = threading.Lock()
state = {"cut": False}
open_sockets = set()
# Sockets whose relaying waits until SIGUSR2.
frozen = set()
thawed = threading.Event()

def close_all():
    with lock:
        sockets = list(open_sockets)
        open_sockets.clear()
    for sock in sockets:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

def on_cut(_signum, _frame):
    state["cut"] = True
    close_all()

def on_restore(_signum, _frame):
    state["cut"] = False
    with lock:
        frozen.clear()
    thawed.set()
    try:
        os.remove(args.port_file + ".frozen")
    except OSError:
        pass

def on_freeze(_signum, _frame):
    thawed.clear()
    with lock:
        frozen.update(open_sockets)
    # The test waits for this before changing etcd behind the frozen watch.
    with open(args.port_file + ".frozen", "w") as handle:
        handle.write("frozen")

def pump(source, sink):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            while source in frozen:
                thawed.wait(0.1)
            sink.sendall(data)
    except OSError:
        pass
    for sock in (source, sink):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

signal.signal(signal.SIGUSR1, on_cut)
signal.signal(signal.SIGUSR2, on_restore)
signal.signal(signal.SIGWINCH, on_freeze)
# The test runner may block these in the mask this process inherited.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH})
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(128)
listener.settimeout(0.1)
with open(args.port_file + ".tmp", "w") as handle:
    handle.write(str(listener.getsockname()[1]))

os.rename(args.port_file + ".tmp", args.port_file)

while True:
    try:
        client, _ = listener.accept()
    except socket.timeout:
        continue
    except InterruptedError:
        continue
    if state["cut"]:
        client.close()
        continue
    try:
        upstream = socket.create_connection(target, timeout=5)
        upstream.settimeout(None)
    except OSError:
        client.close()
        continue
    client.settimeout(None)
    with lock:
        open_sockets.add(client)
        open_sockets.add(upstream)
    threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
    threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
