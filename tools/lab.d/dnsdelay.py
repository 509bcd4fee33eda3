#!/usr/bin/python3
"""dnsdelay.py: a DNS proxy (UDP and TCP) that answers DELAY ms later than its upstream.

The lab redirects port 53 of the DNS service addresses to this proxy (nftables nat in the
"internet" namespace) while `tools/lab fault dns slow MS` is active. Queries are forwarded
at once; each answer is held for DELAY ms before it goes back to the client. A stopped
upstream gives no answer (the client times out).

  dnsdelay.py --listen ADDR[,ADDR] --port 5300 --upstream 198.51.100.53 [--upstream-port 53]
              --delay-ms MS [--pidfile F]
"""

import argparse
import os
import selectors
import signal
import socket
import struct
import sys
import threading
import time

MAX_WORKERS = 256
UPSTREAM_TIMEOUT_S = 5.0


class Proxy:
    def __init__(self, a):
        self.a = a
        self.delay = a.delay_ms / 1000.0
        self.up_family = socket.AF_INET6 if ":" in a.upstream else socket.AF_INET
        self.workers = threading.BoundedSemaphore(MAX_WORKERS)

    def spawn(self, fn, *args):
        if not self.workers.acquire(blocking=False):
            return False  # overloaded: drop, like a busy server

        def run():
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 - one bad query never stops the proxy
                pass
            finally:
                self.workers.release()

        threading.Thread(target=run, daemon=True).start()
        return True

    def ask(self, query):
        with socket.socket(self.up_family, socket.SOCK_DGRAM) as up:
            up.settimeout(UPSTREAM_TIMEOUT_S)
            up.connect((self.a.upstream, self.a.upstream_port))
            up.send(query)
            return up.recv(65535)

    def udp(self, sock, query, client):
        answer = self.ask(query)
        time.sleep(self.delay)  # the injected fault itself
        sock.sendto(answer, client)

    def tcp(self, conn):
        with conn, socket.socket(self.up_family, socket.SOCK_STREAM) as up:
            conn.settimeout(30)
            up.settimeout(UPSTREAM_TIMEOUT_S)
            up.connect((self.a.upstream, self.a.upstream_port))
            while True:
                msg = recv_msg(conn)
                if msg is None:
                    return
                up.sendall(struct.pack("!H", len(msg)) + msg)
                answer = recv_msg(up)
                if answer is None:
                    return
                time.sleep(self.delay)
                conn.sendall(struct.pack("!H", len(answer)) + answer)


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def recv_msg(sock):
    head = recv_exact(sock, 2)
    if head is None:
        return None
    return recv_exact(sock, struct.unpack("!H", head)[0])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--listen", required=True)
    p.add_argument("--port", type=int, default=5300)
    p.add_argument("--upstream", required=True)
    p.add_argument("--upstream-port", type=int, default=53)
    p.add_argument("--delay-ms", type=float, required=True)
    p.add_argument("--pidfile")
    a = p.parse_args()
    if not 0 <= a.delay_ms <= 60000:
        print("dnsdelay: delay must be 0..60000 ms", file=sys.stderr)
        return 2
    proxy = Proxy(a)
    sel = selectors.DefaultSelector()
    for addr in [x.strip() for x in a.listen.split(",") if x.strip()]:
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        u = socket.socket(fam, socket.SOCK_DGRAM)
        u.bind((addr, a.port))
        sel.register(u, selectors.EVENT_READ, "udp")
        t = socket.socket(fam, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.bind((addr, a.port))
        t.listen(32)
        sel.register(t, selectors.EVENT_READ, "tcp")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if a.pidfile:
        tmp = a.pidfile + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(tmp, a.pidfile)
    try:
        while True:
            for key, _ in sel.select():
                s = key.fileobj
                try:
                    if key.data == "udp":
                        query, client = s.recvfrom(65535)
                        proxy.spawn(proxy.udp, s, query, client)
                    else:
                        conn, _ = s.accept()
                        if not proxy.spawn(proxy.tcp, conn):
                            conn.close()
                except OSError:
                    continue
    finally:
        if a.pidfile:
            try:
                os.unlink(a.pidfile)
            except OSError:
                pass


if __name__ == "__main__":
    sys.exit(main())
