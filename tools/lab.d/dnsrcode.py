#!/usr/bin/python3
"""dnsrcode.py: an "upstream" DNS server (UDP) that answers every query with one rcode.

dnsmasq (the lab's DNS server) cannot be told to answer SERVFAIL for a name. While
`tools/lab fault dns servfail NAME` is active, dnsmasq forwards NAME (a `server=/NAME/`
line in its servers-file, re-read on SIGHUP) to this process, which answers SERVFAIL;
dnsmasq relays that rcode to the client. So the router still talks to the real dnsmasq.

The reply follows RFC 1035 section 4.1: the query's id and question section copied, QR=1,
the query's opcode and RD, RA=1, RCODE as given, no answer/authority/additional records.
Anything that is not a well-formed query (QR set, shorter than a header, not one
question) is dropped.

  dnsrcode.py --listen ADDR --port PORT [--rcode 2] [--pidfile F]
"""

import argparse
import os
import signal
import socket
import struct
import sys

HEADER = struct.Struct("!HHHHHH")  # id, flags, qdcount, ancount, nscount, arcount


def question_end(msg):
    """Offset just past the one question of |msg|, or None if it is malformed."""
    i = HEADER.size
    for _ in range(128):  # at most 127 labels in a 255-byte name
        if i >= len(msg):
            return None
        n = msg[i]
        if n == 0:
            i += 1
            break
        if n & 0xC0:  # no compression pointer in a query's question
            return None
        i += 1 + n
    else:
        return None
    i += 4  # QTYPE, QCLASS
    return i if i <= len(msg) else None


def answer(query, rcode):
    if len(query) < HEADER.size:
        return None
    qid, flags, qd, _an, _ns, _ar = HEADER.unpack_from(query)
    if flags & 0x8000 or qd != 1:  # a reply, or not exactly one question
        return None
    end = question_end(query)
    if end is None:
        return None
    opcode_rd = flags & 0x7900  # opcode (bits 11-14) and RD (bit 8)
    rflags = 0x8000 | opcode_rd | 0x0080 | (rcode & 0xF)  # QR, RA
    return HEADER.pack(qid, rflags, 1, 0, 0, 0) + query[HEADER.size:end]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--listen", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--rcode", type=int, default=2, help="2 SERVFAIL (default), 5 REFUSED, ...")
    p.add_argument("--pidfile")
    a = p.parse_args()
    fam = socket.AF_INET6 if ":" in a.listen else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.listen, a.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if a.pidfile:
        with open(a.pidfile + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(a.pidfile + ".tmp", a.pidfile)
    while True:
        query, client = s.recvfrom(65535)
        reply = answer(query, a.rcode)
        if reply is not None:
            s.sendto(reply, client)


if __name__ == "__main__":
    main()
