#!/usr/bin/python3
"""delayline.py: a TUN device that holds every packet routed into it, then writes it back.

The kernel here has no netem (environment.md section 3), so added latency is a user-space
delay line: the lab policy-routes the packets of one direction into this TUN; after
DELAY (+- JITTER) ms they are written back and the kernel forwards them on (they re-enter
with iif = the TUN and take the main table). Optional random loss.

  delayline.py --dev dly0 --delay-ms 100 [--jitter-ms 0] [--loss-pct 0] [--pidfile F]

The pid file is written once the device exists. SIGTERM ends it; the TUN (not persistent)
disappears with the process, and with it the routes through it.
"""

import argparse
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA  # _IOW('T', 202, int), linux/if_tun.h
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dev", required=True)
    p.add_argument("--delay-ms", type=float, required=True)
    p.add_argument("--jitter-ms", type=float, default=0.0)
    p.add_argument("--loss-pct", type=float, default=0.0)
    p.add_argument("--max-queue", type=int, default=20000, help="packets held at most")
    p.add_argument("--pidfile")
    a = p.parse_args()
    ok = 0 <= a.jitter_ms <= a.delay_ms <= 60000 and 0 <= a.loss_pct <= 100
    if not ok:
        print("delayline: need 0 <= jitter <= delay <= 60000 ms, 0 <= loss <= 100", file=sys.stderr)
        return 2

    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", a.dev.encode(), IFF_TUN | IFF_NO_PI))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if a.pidfile:
        tmp = a.pidfile + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(tmp, a.pidfile)

    delay = a.delay_ms / 1000.0
    jitter = a.jitter_ms / 1000.0
    loss = a.loss_pct / 100.0
    queue = []  # heap of (due, seq, packet); seq keeps FIFO order for equal due times
    seq = 0
    try:
        while True:
            now = time.monotonic()
            timeout = max(0.0, queue[0][0] - now) if queue else None
            ready, _, _ = select.select([fd], [], [], timeout)
            now = time.monotonic()
            if ready:
                while True:  # drain: one wake-up may carry many packets
                    try:
                        pkt = os.read(fd, 65536)
                    except BlockingIOError:
                        break
                    except OSError:
                        break
                    if not pkt or len(queue) >= a.max_queue:
                        continue
                    if loss and random.random() < loss:
                        continue
                    d = delay + (random.uniform(-jitter, jitter) if jitter else 0.0)
                    heapq.heappush(queue, (now + d, seq, pkt))
                    seq += 1
            while queue and queue[0][0] <= now:
                _, _, pkt = heapq.heappop(queue)
                try:
                    os.write(fd, pkt)
                except OSError:
                    pass  # device down, bad packet: drop it
    finally:
        if a.pidfile:
            try:
                os.unlink(a.pidfile)
            except OSError:
                pass


if __name__ == "__main__":
    sys.exit(main())
