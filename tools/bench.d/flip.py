#!/usr/bin/env python3
"""Link flipper for tools/bench: sets devices of the network namespace it runs in up or
down and says exactly when.

    ip netns exec NS tools/bench.d/flip.py

Reads commands on stdin, one per line: "DEV up" or "DEV down". For each it answers one
line "ok MONO_NS REAL_NS" (CLOCK_MONOTONIC and CLOCK_REALTIME read right before the
SIOCSIFFLAGS ioctl; CLOCK_MONOTONIC is the same clock in every namespace) or "err TEXT".
This is the kernel operation `ip link set DEV up|down` performs (dev_change_flags); a
long-lived helper is used so that no process start lies between the stamp and the change.
"""
import fcntl
import socket
import struct
import sys
import time

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def flags_req(dev, flags=0):
    return struct.pack("16sH14x", dev.encode(), flags)


def main():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for line in sys.stdin:
        parts = line.split()
        if len(parts) != 2 or parts[1] not in ("up", "down"):
            print("err usage: DEV up|down", flush=True)
            continue
        dev, what = parts
        try:
            cur = struct.unpack("16sH14x", fcntl.ioctl(s, SIOCGIFFLAGS, flags_req(dev)))[1]
            new = (cur | IFF_UP) if what == "up" else (cur & ~IFF_UP)
            req = flags_req(dev, new)
            mono = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            real = time.clock_gettime_ns(time.CLOCK_REALTIME)
            fcntl.ioctl(s, SIOCSIFFLAGS, req)
        except OSError as e:
            print("err %s: %s" % (dev, e.strerror), flush=True)
            continue
        print("ok %d %d" % (mono, real), flush=True)


if __name__ == "__main__":
    main()
