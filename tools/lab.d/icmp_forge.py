#!/usr/bin/python3
"""icmp_forge.py: answers the router's ICMP echo requests with forged echo replies.

Run by `tools/lab fault forge WAN on` in that WAN's ISP namespace. It sniffs the requests
arriving from the router on the ISP's customer-facing device (an AF_PACKET socket, so it
sees them even when nftables then drops them: `fault blackhole`), and for each IPv4 echo
request sends back to the router, from the probed target's address (raw IPv4 socket,
IP_HDRINCL, out of the same device):

  wrong-id    the request's sequence, echo id + 1            (RFC 792 echo reply, type 0)
  wrong-seq   the request's id, sequence + 1000
  short       the request's id and sequence, 4 bytes of data instead of what was sent
  truncated   an ICMP message of 4 bytes: shorter than the 8-byte echo header
  duplicate   a correct echo reply (id, sequence and data echoed), sent twice, and only
              with --duplicates: combined with `fault blackhole` it would be a perfect
              forgery (an on-path attacker can always make one); without blackhole it
              duplicates the genuine reply

Every packet carries a correct IPv4 header checksum and ICMP checksum, so the kernel does
not drop it for that. Counts of what was seen and sent go to --stats (JSON, rewritten on
every request) so a test can tell the forger worked.

  icmp_forge.py --dev cust [--duplicates] [--stats FILE] [--pidfile FILE]
"""

import argparse
import json
import os
import signal
import socket
import struct
import sys

ETH_P_IP = 0x0800
ETH_HLEN = 14
IPPROTO_ICMP = 1


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def icmp_msg(icmp_type, ident, seq, data):
    head = struct.pack("!BBHHH", icmp_type, 0, 0, ident, seq)
    c = checksum(head + data)
    return struct.pack("!BBHHH", icmp_type, 0, c, ident, seq) + data


def ipv4(src, dst, payload, ident):
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0, 64,
                       IPPROTO_ICMP, 0, src, dst)
    c = checksum(head)
    return head[:10] + struct.pack("!H", c) + head[12:] + payload


def parse_request(frame):
    """(src, dst, id, seq, data) of an IPv4 echo request in an Ethernet frame, or None."""
    if len(frame) < ETH_HLEN + 20 or struct.unpack_from("!H", frame, 12)[0] != ETH_P_IP:
        return None
    ip = frame[ETH_HLEN:]
    ihl = (ip[0] & 0x0F) * 4
    if ip[0] >> 4 != 4 or ihl < 20 or len(ip) < ihl + 8 or ip[9] != IPPROTO_ICMP:
        return None
    total = struct.unpack_from("!H", ip, 2)[0]
    if total < ihl + 8 or total > len(ip):
        return None
    if struct.unpack_from("!H", ip, 6)[0] & 0x3FFF:  # a fragment: not a whole request
        return None
    icmp = ip[ihl:total]
    if icmp[0] != 8 or icmp[1] != 0:  # echo request, code 0
        return None
    ident, seq = struct.unpack_from("!HH", icmp, 4)
    return ip[12:16], ip[16:20], ident, seq, icmp[8:]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dev", required=True)
    ap.add_argument("--duplicates", action="store_true")
    ap.add_argument("--stats")
    ap.add_argument("--pidfile")
    a = ap.parse_args()

    rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    rx.bind((a.dev, 0))
    tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    tx.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, a.dev.encode())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if a.pidfile:
        with open(a.pidfile + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(a.pidfile + ".tmp", a.pidfile)

    stats = {"requests": 0, "wrong_id": 0, "wrong_seq": 0, "short": 0, "truncated": 0,
             "duplicate": 0, "send_errors": 0}
    ip_id = 0
    while True:
        frame, addr = rx.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING:
            continue  # our own forgeries, and what the ISP sends
        req = parse_request(frame)
        if req is None:
            continue
        src, dst, ident, seq, data = req
        stats["requests"] += 1
        forged = [
            ("wrong_id", icmp_msg(0, (ident + 1) & 0xFFFF, seq, data)),
            ("wrong_seq", icmp_msg(0, ident, (seq + 1000) & 0xFFFF, data)),
            ("short", icmp_msg(0, ident, seq, data[:4])),
            ("truncated", icmp_msg(0, ident, seq, b"")[:4]),
        ]
        if a.duplicates:
            good = icmp_msg(0, ident, seq, data)
            forged += [("duplicate", good), ("duplicate", good)]
        for kind, msg in forged:
            ip_id = (ip_id + 1) & 0xFFFF
            try:
                tx.sendto(ipv4(dst, src, msg, ip_id), (socket.inet_ntoa(src), 0))
                stats[kind] += 1
            except OSError:
                stats["send_errors"] += 1
        if a.stats:
            with open(a.stats + ".tmp", "w") as f:
                json.dump(stats, f)
            os.rename(a.stats + ".tmp", a.stats)


if __name__ == "__main__":
    main()
