#!/usr/bin/env python3
"""The benchmarks of omr-trackerd (issue 9); run through tools/bench, which builds first.

    tools/bench.d/bench.py --build DIR [--quick] [--sections 1,2,...] [--runs N]
                           [--trials N] [--output FILE] [--failover-timeout S]

Every measurement runs in labs of tools/lab (network namespaces) that this program
brings up and takes down; every process it starts runs in its own session and is ended by
pid. Progress goes to stderr, the report (markdown tables) to stdout.

Sections
  1  CPU per ICMP probe at 100 probes/s, 1/10/100 targets: omr-trackerd vs fping vs a
     fork-per-probe loop (ping + the shell tracker's parsing)
  2  the OMR default workload (3 WANs + omrvpn + 1 VPS, shipped intervals): CPU, RSS,
     wakeups over 60 s windows
  3  reaction times (p50/p99): carrier loss -> ERROR and -> hook, link up -> first echo,
     DDNS change -> new address, master VPS loss -> backup current
  4  scale: 12, 102, 1002 targets at 1 Hz
  5  CPU per API check: full TLS handshake, resumed session, kept-alive connection
  6  callgrind instruction counts: one interface cycle, one API check

How things are measured (also in the report):
  CPU       the kernel's accounting of the whole process: sum_exec_runtime (ns) from
            /proc/PID/task/*/schedstat over a window, or getrusage of a waited-for child
            (user + system, children included). Both include the kernel work done in the
            process' context, in the lab also the softirq processing of the veth hops.
  RSS       /proc/PID/status VmRSS, RssAnon, RssFile; Pss from smaps_rollup.
  wakeups   voluntary context switches (/proc/PID/status, getrusage ru_nvcsw).
  echo/s    nftables counters at the ISP end of each WAN (netdev ingress), i.e. the
            echo requests that really left the router.
"""
import argparse
import datetime
import glob
import json
import math
import os
import platform
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BENCH_D = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(BENCH_D))
LAB = os.path.join(TOP, "tools", "lab")

# ---------------------------------------------------------------------------------------
# Small helpers


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def mono_ns():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def real_ns():
    return time.clock_gettime_ns(time.CLOCK_REALTIME)


def run(argv, check=True, **kw):
    """Runs a command to completion, output captured (text)."""
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if check and p.returncode != 0:
        raise BenchError("%s failed (exit %d): %s" % (" ".join(argv), p.returncode,
                                                      (p.stderr or p.stdout).strip()[-800:]))
    return p


def nsx(ns, argv):
    return ["ip", "netns", "exec", ns] + list(argv)


class BenchError(Exception):
    pass


# Every process we start, by pid: ended (TERM, then KILL) on exit and on Ctrl-C.
PROCS = []


def spawn(argv, **kw):
    kw.setdefault("stdin", subprocess.DEVNULL)
    p = subprocess.Popen(argv, start_new_session=True, **kw)
    PROCS.append(p)
    return p


def stop_proc(p, sig=signal.SIGTERM, grace=3.0):
    if p.returncode is not None:
        return p.returncode
    try:
        os.kill(p.pid, sig)
    except ProcessLookupError:
        pass
    try:
        return p.wait(grace)
    except subprocess.TimeoutExpired:
        try:
            os.kill(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return p.wait()


def wait_child(p):
    """Waits for a child with os.wait4: its exit status and resource usage (children
    included, as the kernel accounts them)."""
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, ru


def sleep_until(t_mono_ns):
    d = (t_mono_ns - mono_ns()) / 1e9
    if d > 0:
        time.sleep(d)


# ---------------------------------------------------------------------------------------
# Statistics and formatting


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    if n == 0:
        return float("nan")
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def pctl(xs, p):
    """Nearest-rank percentile (p99 of 30 samples is the largest one)."""
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = max(1, math.ceil(p / 100 * len(xs)))
    return xs[k - 1]


def num(x, digits=None):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if digits is None:
        ax = abs(x)
        digits = 0 if ax >= 100 else 1 if ax >= 10 else 2 if ax >= 1 else 3
    return "%.*f" % (digits, x)


def spread(xs, digits=None, unit=""):
    """median [min–max]"""
    xs = [x for x in xs if x is not None and not (isinstance(x, float) and math.isnan(x))]
    if not xs:
        return "—"
    if len(xs) == 1:
        return num(xs[0], digits) + unit
    return "%s%s [%s–%s]" % (num(median(xs), digits), unit, num(min(xs), digits),
                             num(max(xs), digits))


def met(ok):
    return "met" if ok else "**not met**"


class Report:
    def __init__(self):
        self.parts = []

    def section(self, title, intro=None):
        self.parts.append("")
        self.parts.append("### " + title)
        if intro:
            self.parts.append("")
            self.parts.append(intro)

    def table(self, header, rows):
        self.parts.append("")
        self.parts.append("| " + " | ".join(header) + " |")
        self.parts.append("|" + "|".join("---" for _ in header) + "|")
        for r in rows:
            self.parts.append("| " + " | ".join(str(c) for c in r) + " |")

    def notes(self, lines):
        self.parts.append("")
        for ln in lines:
            self.parts.append("- " + ln)

    def text(self):
        return "\n".join(self.parts) + "\n"


# ---------------------------------------------------------------------------------------
# Processes: /proc accounting


def cpu_ns(pid):
    """CPU time of every thread of |pid| (sum_exec_runtime, ns): the kernel's exact figure,
    the one utime+stime of /proc/PID/stat are scaled to (in 10 ms ticks)."""
    total = 0
    for f in glob.glob("/proc/%d/task/*/schedstat" % pid):
        try:
            with open(f) as fh:
                total += int(fh.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            k, _, v = line.partition(":")
            v = v.strip()
            if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem", "VmSize"):
                out[k] = int(v.split()[0])
            elif k in ("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches", "Threads"):
                out[k] = int(v)
    try:
        with open("/proc/%d/smaps_rollup" % pid) as fh:
            for line in fh:
                k, _, v = line.partition(":")
                if k in ("Pss", "Pss_Anon", "Pss_File"):
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


class Sample:
    """CPU, wakeups and time of a process at one instant."""

    def __init__(self, pid):
        self.t = mono_ns()
        self.cpu = cpu_ns(pid)
        st = proc_status(pid)
        self.vcsw = st.get("voluntary_ctxt_switches", 0)
        self.status = st


# ---------------------------------------------------------------------------------------
# The lab


LABS = []


class Lab:
    def __init__(self, tag, wans=2, ttl=None, self_signed=False):
        self.name = "bench%d%s" % (os.getpid(), tag)
        self.wans, self.ttl, self.self_signed = wans, ttl, self_signed
        self.env = {}
        LABS.append(self)

    def lab(self, *args, check=True):
        return run([LAB, "--name", self.name] + list(args), check=check)

    def up(self):
        args = ["up", "--wans", str(self.wans)]
        if self.ttl is not None:
            args += ["--ttl", str(self.ttl)]
        if self.self_signed:
            args.append("--self-signed")
        t0 = mono_ns()
        self.lab(*args)
        for line in self.lab("env").stdout.splitlines():
            k, _, v = line.partition("=")
            self.env[k] = v.strip('"')
        log("lab %s up (%d WANs) in %.1f s" % (self.name, self.wans, (mono_ns() - t0) / 1e9))

    def down(self):
        self.lab("down", check=False)

    def ns(self, short):
        return {"r": self.env["LAB_NS_ROUTER"], "net": self.env["LAB_NS_NET"]}.get(
            short) or self.env["LAB_NS_ISP" + short[3:]]

    def config_dir(self):
        return self.env["LAB_CONFIG"]

    def ip(self, short, *args):
        run(["ip", "-n", self.ns(short)] + list(args))

    def fault(self, *args):
        """Runs `tools/lab fault ...`; returns (mono_ns before, mono_ns after)."""
        t0 = mono_ns()
        self.lab("fault", *args)
        return t0, mono_ns()


def nft_stamped(ns, rules):
    """Applies nftables |rules| in |ns| and returns CLOCK_MONOTONIC (ns) read right before
    they were handed to an `nft -f -` already waiting for its input: the process start is
    not inside the stamp, the rules take effect within about a millisecond of it."""
    p = spawn(nsx(ns, ["nft", "-f", "-"]), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
              stderr=subprocess.PIPE, text=True)
    end = mono_ns() + int(2e9)
    while mono_ns() < end:
        try:
            with open("/proc/%d/comm" % p.pid) as fh:
                comm = fh.read().strip()
            with open("/proc/%d/wchan" % p.pid) as fh:
                wchan = fh.read()
        except OSError:
            break
        if comm == "nft" and "pipe_read" in wchan:
            break
        time.sleep(0.001)
    t = mono_ns()
    p.stdin.write(rules)
    p.stdin.close()
    if p.wait() != 0:
        raise BenchError("nft in %s: %s" % (ns, p.stderr.read().strip()))
    return t


class EchoCounter:
    """nftables counters of the ICMP/ICMPv6 echo requests arriving on a device (netdev
    ingress hook) in one namespace."""

    def __init__(self, ns, dev):
        self.ns, self.dev = ns, dev
        self.table = "omrbench_%s" % re.sub(r"[^A-Za-z0-9_]", "_", dev)
        rules = ("table netdev %s {\n counter echo4 {}\n counter echo6 {}\n"
                 " chain c { type filter hook ingress device \"%s\" priority -500;\n"
                 "  icmp type echo-request counter name \"echo4\"\n"
                 "  icmpv6 type echo-request counter name \"echo6\"\n }\n}\n") % (self.table, dev)
        subprocess.run(nsx(ns, ["nft", "-f", "-"]), input=rules, text=True, check=True)

    def read(self):
        out = run(nsx(self.ns, ["nft", "-j", "list", "counters", "table", "netdev", self.table]))
        n = 0
        for obj in json.loads(out.stdout).get("nftables", []):
            if "counter" in obj:
                n += obj["counter"].get("packets", 0)
        return n


def read_counters(counters):
    return sum(c.read() for c in counters)


def align_to_gap(counter, gap_s=0.45, limit_s=3.0):
    """Waits for the daemon's next burst of echoes (the counter moves), then |gap_s| more:
    a window that starts and ends between bursts holds whole cycles."""
    end = mono_ns() + int(limit_s * 1e9)
    c0 = counter.read()
    while mono_ns() < end:
        time.sleep(0.03)
        if counter.read() != c0:
            break
    time.sleep(gap_s)


# ---------------------------------------------------------------------------------------
# UCI configurations for the daemon


class Conf:
    """A copy of the lab's UCI files, with sections re-opened at the end (libuci: a later
    `config TYPE 'NAME'` adds or replaces options; `option` replaces a list)."""

    def __init__(self, lab, workdir, name):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        for f in ("network", "omr-tracker", "openmptcprouter"):
            shutil.copy(os.path.join(lab.config_dir(), f), os.path.join(self.dir, f))
        self.hooks = os.path.join(self.dir, "hooks")
        os.makedirs(self.hooks, exist_ok=True)
        os.makedirs(os.path.join(self.dir, "server-hooks"), exist_ok=True)
        self.socket = os.path.join(self.dir, "omr-trackerd.sock")
        self.status_file = os.path.join(self.dir, "omr-trackerd.json")
        self.add("omr-tracker", "daemon", "daemon", [
            ("socket_path", self.socket), ("status_file", self.status_file),
            ("hooks_dir", self.hooks),
            ("server_hooks_dir", os.path.join(self.dir, "server-hooks"))])

    def add(self, file, stype, name, options):
        with open(os.path.join(self.dir, file), "a") as fh:
            fh.write("\nconfig %s '%s'\n" % (stype, name))
            for opt in options:
                if len(opt) == 3:  # ("list", key, [values])
                    for v in opt[2]:
                        fh.write("\tlist %s '%s'\n" % (opt[1], v))
                else:
                    fh.write("\toption %s '%s'\n" % opt)


# ---------------------------------------------------------------------------------------
# Line readers (the daemon's watch, tcpdump, the hook FIFO) on one select loop


class LineReader:
    def __init__(self, fd, name):
        self.fd, self.name = fd, name
        os.set_blocking(fd, False)
        self.buf = b""
        self.lines = []  # (arrival mono_ns, text)
        self.eof = False

    def feed(self):
        t = mono_ns()
        try:
            data = os.read(self.fd, 1 << 20)
        except BlockingIOError:
            return
        if not data:
            self.eof = True
            return
        self.buf += data
        *full, self.buf = self.buf.split(b"\n")
        for ln in full:
            self.lines.append((t, ln.decode(errors="replace")))


def drain(readers):
    """Reads what is already there, without waiting."""
    for r in readers:
        if not r.eof:
            r.feed()


def pump(readers, until_ns):
    """Reads whatever arrives on |readers| until |until_ns| or until one has data."""
    fds = {r.fd: r for r in readers if not r.eof}
    left = (until_ns - mono_ns()) / 1e9
    if left <= 0 or not fds:
        return
    ready, _, _ = select.select(list(fds), [], [], left)
    for fd in ready:
        fds[fd].feed()


def wait_for(readers, cond, timeout_s):
    """Pumps |readers| until cond() returns something true (returned) or the deadline."""
    end = mono_ns() + int(timeout_s * 1e9)
    while True:
        r = cond()
        if r:
            return r
        if mono_ns() >= end:
            return None
        pump(readers, end)


class Watch:
    """`omr-trackerctl watch`: the status document now and after every change."""

    def __init__(self, ctl, sock):
        self.p = spawn([ctl, "-s", sock, "watch"], stdout=subprocess.PIPE)
        self.r = LineReader(self.p.stdout.fileno(), "watch")
        self.seen = 0
        self.doc = None

    def docs(self):
        """New (arrival mono_ns, document) pairs since the last call."""
        return list(iter(self.next_doc, None))

    def next_doc(self):
        """The next (arrival mono_ns, document) not seen yet, or None."""
        while self.seen < len(self.r.lines):
            t, ln = self.r.lines[self.seen]
            self.seen += 1
            try:
                d = json.loads(ln)
            except ValueError:
                continue
            self.doc = d.get("status", d)
            return t, self.doc
        return None

    def until(self, pred, timeout_s, extra=()):
        """The arrival time (mono_ns) of the first document satisfying pred, or None.
        Documents after it stay unread for the next call: one change often lands in the
        same read as the one before it (two interfaces going OK together)."""
        def cond():
            while True:
                nd = self.next_doc()
                if nd is None:
                    return None
                try:
                    if pred(nd[1]):
                        return nd[0]
                except (KeyError, IndexError, TypeError):
                    pass
        return wait_for([self.r] + list(extra), cond, timeout_s)

    def close(self):
        stop_proc(self.p)


def carrier_event(lines, dev, after_real_ns):
    """The wall-clock time (s) of the first `ip -ts monitor link` line at or after
    |after_real_ns| saying |dev| lost its carrier, or None."""
    for _, ln in lines:
        m = re.match(r"\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)\] \d+: ([^:@]+)[:@].*<([^>]*)>",
                     ln)
        if not m or m.group(2) != dev or "NO-CARRIER" not in m.group(3).split(","):
            continue
        t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").timestamp()
        if t * 1e9 >= after_real_ns - 1e6:  # ip's stamp has µs, the flip's ns
            return t
    return None


def iface_is(d, name, status, reason=None):
    e = d["interfaces"][name]
    return e["status"] == status and (reason is None or e["reason"] == reason)


# ---------------------------------------------------------------------------------------
# The daemon


class Daemon:
    def __init__(self, bench, lab, conf):
        self.b, self.lab, self.conf = bench, lab, conf
        self.log = os.path.join(conf.dir, "daemon.log")
        self.p = None
        self.watch = None

    def start(self):
        with open(self.log, "w") as err:
            extra = ["-l", "debug"] if self.b.a.debug else []
            self.p = spawn(nsx(self.lab.ns("r"), [self.b.daemon, "-f", "-C", self.conf.dir] + extra),
                           stderr=err, stdout=subprocess.DEVNULL)
        end = mono_ns() + int(15e9)
        while mono_ns() < end:
            if self.p.poll() is not None:
                break
            with open(self.log, errors="replace") as fh:
                if "starting:" in fh.read():
                    break
            time.sleep(0.02)
        if self.p.poll() is not None:
            raise BenchError("omr-trackerd exited at start:\n" + open(self.log).read()[-2000:])
        if not os.path.exists(self.conf.socket):
            raise BenchError("omr-trackerd did not open its socket:\n" +
                             open(self.log).read()[-2000:])
        self.watch = Watch(self.b.ctl, self.conf.socket)
        return self

    @property
    def pid(self):
        return self.p.pid

    def wait(self, pred, timeout_s, what):
        """Until the daemon's state satisfies pred: at once when the last document read
        does (a state already reached publishes nothing new); else the arrival time of
        the first new document that does."""
        try:
            if self.watch.doc is not None and pred(self.watch.doc):
                return mono_ns()
        except (KeyError, IndexError, TypeError):
            pass
        t = self.watch.until(pred, timeout_s)
        if t is None:
            raise BenchError("omr-trackerd: not within %.0f s: %s; last status: %s\nlog tail:\n%s"
                             % (timeout_s, what, json.dumps(self.watch.doc)[:1500],
                                open(self.log, errors="replace").read()[-1500:]))
        return t

    def status(self):
        return json.loads(run([self.b.ctl, "-s", self.conf.socket, "status", "--json"]).stdout)

    def stop(self):
        if self.watch:
            self.watch.close()
            self.watch = None
        if self.p:
            rc = stop_proc(self.p)
            self.p = None
            if rc not in (0, -signal.SIGTERM):
                log("note: omr-trackerd exited %s" % rc)


# ---------------------------------------------------------------------------------------
# The benchmark


class Bench:
    def __init__(self, a):
        self.a = a
        self.quick = a.quick
        self.build = os.path.abspath(a.build)
        self.daemon = os.path.join(self.build, "src", "daemon", "omr-trackerd")
        self.ctl = os.path.join(self.build, "src", "ctl", "omr-trackerctl")
        self.tool = {t: os.path.join(self.build, "bench", t)
                     for t in ("omrt-bench-cycle", "omrt-bench-api", "omrt-bench-floor")}
        # On tmpfs, like /var/run on a router: the status file is written there (with fsync).
        shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
        self.work = tempfile.mkdtemp(prefix="omrt-bench-", dir=shm)
        self.report = Report()
        self.lab_a = None
        self.lab_c = None
        self.t_start = mono_ns()

    # -- runs and sizes, full or quick
    def runs(self, full):
        return self.a.runs or (1 if self.quick else full)

    def trials(self, full, quick):
        return self.a.trials or (quick if self.quick else full)

    # -- labs
    def lab_main(self):
        """Lab A: 3 WANs, VPS certificates like a real VPS (RSA, self-signed), an omrvpn-like
        point-to-point device (tun0) from the router to the internet namespace, and the
        prefixes 10.77.0.0/16 and 2001:db8:77::/64 answering ICMP on the internet's lo
        (AnyIP routes) for as many targets as needed."""
        if self.lab_a:
            return self.lab_a
        lab = Lab("a", wans=3, self_signed=True)
        self.lab_a = lab
        lab.up()
        r, net = lab.ns("r"), lab.ns("net")
        lab.ip("net", "route", "add", "local", "10.77.0.0/16", "dev", "lo")
        lab.ip("net", "-6", "route", "add", "local", "2001:db8:77::/64", "dev", "lo")
        run(["ip", "link", "add", "name", "tun0", "netns", r, "type", "veth",
             "peer", "name", "omrvpn0", "netns", net])
        lab.ip("r", "addr", "add", "10.255.255.2", "peer", "10.255.255.1/32", "dev", "tun0")
        lab.ip("net", "addr", "add", "10.255.255.1", "peer", "10.255.255.2/32", "dev", "omrvpn0")
        lab.ip("net", "link", "set", "omrvpn0", "up")
        lab.ip("r", "link", "set", "tun0", "up")
        self.counters = {}
        for i in range(1, 4):
            self.counters["wan%d" % i] = EchoCounter(lab.ns("isp%d" % i), "cust")
        self.counters["omrvpn"] = EchoCounter(net, "omrvpn0")
        # Neighbour caches primed, so no first probe pays an ARP/ND retransmit.
        for i in range(1, 4):
            run(nsx(r, ["ping", "-c", "1", "-W", "2", "-q", "-I", "wan%d" % i, "10.77.0.1"]),
                check=False)
        run(nsx(r, ["ping", "-c", "1", "-W", "2", "-q", "-I", "tun0", "10.255.255.1"]), check=False)
        return lab

    def conf_bare(self, lab, name, wans_on=("wan1",)):
        """The lab's config with only |wans_on| tracked, no VPS, the server tracker off."""
        c = Conf(lab, self.work, name)
        for i in range(1, lab.wans + 1):
            w = "wan%d" % i
            if w not in wans_on:
                c.add("omr-tracker", "interface", w, [("enabled", "0")])
        c.add("omr-tracker", "server", "server", [("enabled", "0")])
        c.add("openmptcprouter", "server", "vps", [("disabled", "1")])
        c.add("openmptcprouter", "server", "vps_backup", [("disabled", "1")])
        return c

    # ===================================================================================
    # 1. CPU per ICMP probe at 100 probes/s

    def s1(self):
        lab = self.lab_main()
        r = lab.ns("r")
        sizes = [10] if self.quick else [1, 10, 100]
        runs = self.runs(5)
        win = 2.0 if self.quick else 6.0  # whole seconds: whole 1 s cycles
        fork_n = 50 if self.quick else 300
        targets = ["10.101.0.1"] + ["10.77.0.%d" % i for i in range(1, 100)]
        cnt = self.counters["wan1"]
        res = {n: [] for n in sizes}
        for run_i in range(runs):
            for n in sizes:
                log("1. %d target(s), run %d/%d" % (n, run_i + 1, runs))
                t = targets[:n]
                # omr-trackerd: one interface, `count` echoes to each target per 1 s cycle.
                c = self.conf_bare(lab, "s1-%d-%d" % (n, run_i))
                c.add("omr-tracker", "interface", "wan1", [
                    ("type", "none" if n == 1 else "ping"), ("count", str(100 // n)),
                    ("interval", "1"), ("family", "ipv4"), ("timeout", "2")])
                if n > 1:
                    c.add("openmptcprouter", "server", "bench", [
                        ("disabled", "0"), ("list", "ip", t[1:])])
                d = Daemon(self, lab, c).start()
                try:
                    d.wait(lambda s: iface_is(s, "wan1", "OK"), 15, "wan1 OK")
                    time.sleep(0.5 if self.quick else 1.5)
                    align_to_gap(cnt)
                    s0, c0 = Sample(d.pid), cnt.read()
                    time.sleep(win)
                    s1, c1 = Sample(d.pid), cnt.read()
                finally:
                    d.stop()
                probes = c1 - c0
                dt = (s1.t - s0.t) / 1e9
                dm = dict(us=(s1.cpu - s0.cpu) / 1e3 / max(probes, 1), rate=probes / dt,
                          wk=(s1.vcsw - s0.vcsw) / max(probes, 1))
                # fping: loop mode, per-target period so that the total is 100/s.
                fp = spawn(nsx(r, ["fping", "-l", "-Q", "3600", "-p", str(10 * n), "-I", "wan1",
                                   "-S", "10.101.0.2"] + t),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    time.sleep(1.0)
                    s0, c0 = Sample(fp.pid), cnt.read()
                    time.sleep(win)
                    s1, c1 = Sample(fp.pid), cnt.read()
                finally:
                    stop_proc(fp, signal.SIGINT)
                probes = c1 - c0
                dt = (s1.t - s0.t) / 1e9
                df = dict(us=(s1.cpu - s0.cpu) / 1e3 / max(probes, 1), rate=probes / dt,
                          wk=(s1.vcsw - s0.vcsw) / max(probes, 1))
                # fork per probe: ping + grep/awk/tr per echo, paced at 100/s.
                c0 = cnt.read()
                t0 = mono_ns()
                fk = spawn(nsx(r, [os.path.join(BENCH_D, "fork_probe.sh"), "wan1", "100",
                                   str(fork_n)] + t),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                rc, ru = wait_child(fk)
                dt = (mono_ns() - t0) / 1e9
                c1 = cnt.read()
                if rc != 0:
                    raise BenchError("fork_probe.sh exited %d" % rc)
                if c1 - c0 < fork_n:
                    raise BenchError("fork_probe.sh: %d of %d echoes seen at the ISP"
                                     % (c1 - c0, fork_n))
                dk = dict(us=(ru.ru_utime + ru.ru_stime) * 1e6 / fork_n, rate=fork_n / dt,
                          wk=ru.ru_nvcsw / fork_n)
                res[n].append((dm, df, dk))
        rows = []
        ok_fping, ok_fork = True, True
        for n in sizes:
            rr = res[n]
            ratio_f = [f["us"] / m["us"] for m, f, k in rr]
            ratio_k = [k["us"] / m["us"] for m, f, k in rr]
            ok_fping = ok_fping and median(ratio_f) >= 1.0
            ok_fork = ok_fork and median(ratio_k) >= 100
            rows.append([
                str(n),
                spread([m["rate"] for m, f, k in rr], 0) + " / " +
                spread([f["rate"] for m, f, k in rr], 0) + " / " +
                spread([k["rate"] for m, f, k in rr], 0),
                spread([m["us"] for m, f, k in rr]),
                spread([f["us"] for m, f, k in rr]),
                spread([k["us"] for m, f, k in rr], 0),
                spread(ratio_f, 1, "×"),
                spread(ratio_k, 0, "×"),
                "%s / %s / %s" % (num(median([m["wk"] for m, f, k in rr]), 2),
                                  num(median([f["wk"] for m, f, k in rr]), 2),
                                  num(median([k["wk"] for m, f, k in rr]), 1)),
            ])
        self.report.section(
            "1. CPU per ICMP probe at 100 probes/s",
            "Median [min–max] of %d run(s); each run measures the three one after the other "
            "and the ratios are taken within the run. Goal: omr-trackerd ≤ fping per probe "
            "(%s), ≥ 100× below fork-per-probe (%s)." % (runs, met(ok_fping), met(ok_fork)))
        self.report.table(
            ["targets", "echo/s: omr-trackerd / fping / fork", "omr-trackerd µs/probe",
             "fping µs/probe", "fork-per-probe µs/probe", "fping ÷ omr-trackerd",
             "fork ÷ omr-trackerd", "wakeups/probe: o / f / fork"], rows)
        self.report.notes([
            "omr-trackerd: one WAN, `interval 1`; 1 target = `type none` (the gateway) with "
            "`count 100`; 10 targets = gateway + 9 VPS addresses, `count 10`; 100 = gateway "
            "+ 99, `count 1` (server tracker off). An attempt sends its `count` echoes at "
            "once, so the daemon wakes about once per cycle; fping spaces every echo "
            "(`fping -l -Q 3600 -p 10×N`, 10 ms apart).",
            "fork-per-probe: `ping -B -I wan1 -w 1 -c 1 -s 56 -t 60 -Q 184` + `grep` + "
            "`awk|tr` ×2 per echo (the shell tracker without its three `uci get`), paced at "
            "100/s as far as the machine allows (the measured rate is shown).",
            "µs/probe = process CPU (kernel accounting, windows of %.1f s between bursts) ÷ "
            "echo requests counted at the ISP. The CPU includes the kernel's work in the "
            "process' context — in the lab also the ISP's and internet's veth hops of the "
            "reply — the same for the three." % win,
        ])

    # ===================================================================================
    # 2. The OMR default workload

    def s2(self):
        lab = self.lab_main()
        runs = self.runs(3)
        warm, win = (2.0, 5.0) if self.quick else (5.0, 60.0)
        res = []
        for run_i in range(runs):
            log("2. default workload, run %d/%d (%.0f s)" % (run_i + 1, runs, win))
            c = Conf(lab, self.work, "s2-%d" % run_i)
            # omrvpn as OpenMPTCProuter's 1990-omr-tracker creates it (reference §2.1).
            c.add("network", "interface", "omrvpn", [
                ("device", "tun0"), ("proto", "none"), ("ip4table", "vpn"),
                ("multipath", "off"), ("auto", "1")])
            c.add("omr-tracker", "interface", "omrvpn", [
                ("enabled", "1"), ("type", "none"), ("timeout", "10"), ("count", "1"),
                ("tries", "2"), ("tries_up", "1"), ("interval", "5"),
                ("failure_interval", "3"), ("server_http_test", "1"), ("family", "ipv4"),
                ("list", "hosts", ["4.2.2.1", "8.8.8.8"])])
            c.add("openmptcprouter", "server", "vps", [("ip", "198.51.100.10")])
            c.add("openmptcprouter", "server", "vps_backup", [("disabled", "1")])
            d = Daemon(self, lab, c).start()
            try:
                d.wait(lambda s: all(iface_is(s, w, "OK") for w in
                                     ("wan1", "wan2", "wan3", "omrvpn"))
                       and s["servers"]["vps"]["status"] == "OK"
                       and s["servers"]["vps"]["current"], 30, "all OK, vps current")
                time.sleep(warm)
                st0 = d.status()
                s0, e0 = Sample(d.pid), read_counters(self.counters.values())
                time.sleep(win)
                s1, e1 = Sample(d.pid), read_counters(self.counters.values())
                st1 = d.status()
            finally:
                d.stop()
            dt = (s1.t - s0.t) / 1e9
            m = s1.status
            res.append(dict(
                cpu=(s1.cpu - s0.cpu) / 1e9 / dt * 100, wk=(s1.vcsw - s0.vcsw) / dt,
                rss=m.get("VmRSS"), anon=m.get("RssAnon"), file=m.get("RssFile"),
                pss=m.get("Pss"), hwm=m.get("VmHWM"), echo=(e1 - e0) / dt,
                api=(st1["servers"]["vps"].get("api_checks", 0) -
                     st0["servers"]["vps"].get("api_checks", 0)) / dt,
                writes=(st1["daemon"].get("status_writes", 0) -
                        st0["daemon"].get("status_writes", 0)) / dt))
        floor = self.floor(lab)
        cpu = median([x["cpu"] for x in res])
        rss = median([x["rss"] for x in res])
        self.report.section(
            "2. OMR default workload: 3 WANs + omrvpn + 1 VPS (apiping), shipped intervals",
            "%d run(s) of %.0f s after a %.0f s warm-up, median [min–max]." % (runs, win, warm))
        self.report.table(["measure", "omr-trackerd", "goal"], [
            ["CPU, % of one core", spread([x["cpu"] for x in res], 3, " %"),
             "< 0.1 % — " + met(cpu < 0.1)],
            ["wakeups/s (voluntary context switches)", spread([x["wk"] for x in res], 1), ""],
            ["VmRSS", spread([x["rss"] for x in res], 0, " kB"),
             "≤ 1536 kB — " + met(rss <= 1536)],
            ["… RssAnon (heap, stacks: the daemon's own)", spread([x["anon"] for x in res], 0,
                                                                   " kB"), ""],
            ["… RssFile (binary and shared libraries)", spread([x["file"] for x in res], 0,
                                                                " kB"), ""],
            ["Pss (shared pages divided among their users)", spread([x["pss"] for x in res], 0,
                                                                    " kB"), ""],
            ["floor: a C++ program linked like the daemon, doing nothing: VmRSS / RssAnon / "
             "RssFile", "%s / %s / %s kB" % floor["cxx"], ""],
            ["floor: `sleep` (C, libc only): VmRSS / RssAnon / RssFile",
             "%s / %s / %s kB" % floor["c"], ""],
            ["echo requests/s (all WANs and omrvpn)", spread([x["echo"] for x in res], 1), ""],
            ["API checks/s (GET / through each WAN)", spread([x["api"] for x in res], 2), ""],
            ["status file writes/s", spread([x["writes"] for x in res], 2), ""],
        ])
        self.report.notes([
            "The lab's OMR-shaped UCI files (reference §2 shipped values: `interval 2`, "
            "`count 2`, `tries 3`, `timeout 2`, `family ipv4ipv6` on the WANs), plus "
            "`omrvpn` as OMR's 1990-omr-tracker creates it (`type none`, `interval 5`) on a "
            "point-to-point device `tun0`; one VPS by its address (`vps_backup` disabled), "
            "server tracker `apiping`, `interval 5`, `timeout 10`; no post-tracking hooks "
            "installed (the directory is listed every cycle, as with OMR's hooks).",
            "RSS on this glibc x86_64 machine: libc + libstdc++ + the libraries are file "
            "pages shared with every other process using them; RssAnon is what the daemon "
            "itself allocates.",
        ])

    def floor(self, lab):
        out = {}
        for key, argv in (("cxx", [self.tool["omrt-bench-floor"]]), ("c", ["sleep", "1000"])):
            p = spawn(nsx(lab.ns("r"), argv), stdout=subprocess.PIPE)
            try:
                if key == "cxx":
                    p.stdout.readline()  # started and libstdc++ used
                else:
                    time.sleep(0.2)
                m = proc_status(p.pid)
            finally:
                stop_proc(p)
            out[key] = (m.get("VmRSS"), m.get("RssAnon"), m.get("RssFile"))
        return out

    # ===================================================================================
    # 3. Reaction times

    def lab_react(self):
        """Lab C: 2 WANs, DNS TTL 1 s, plus wanx: a veth whose two ends have the same
        ifindex (77) — what a physical NIC looks like to the kernel's linkwatch, which then
        batches carrier changes up to 1 s after the previous link event."""
        if self.lab_c:
            return self.lab_c
        lab = Lab("c", wans=2, ttl=1)
        self.lab_c = lab
        lab.up()
        r, isp1, net = lab.ns("r"), lab.ns("isp1"), lab.ns("net")
        run(["ip", "link", "add", "name", "wanx", "index", "77", "netns", r, "type", "veth",
             "peer", "name", "custx", "index", "77", "netns", isp1])
        lab.ip("r", "addr", "add", "10.109.0.2/24", "dev", "wanx")
        lab.ip("isp1", "addr", "add", "10.109.0.1/24", "dev", "custx")
        lab.ip("isp1", "link", "set", "custx", "up")
        lab.ip("r", "link", "set", "wanx", "up")
        lab.ip("r", "route", "add", "default", "via", "10.109.0.1", "dev", "wanx", "metric", "9")
        lab.ip("net", "route", "add", "10.109.0.0/24", "via", "10.201.0.1")
        end = mono_ns() + int(3e9)
        while mono_ns() < end:
            o = run(["ip", "-n", r, "-o", "link", "show", "wanx"]).stdout
            if " state UP " in o:
                break
            time.sleep(0.02)
        run(nsx(r, ["ping", "-c", "1", "-W", "2", "-q", "-I", "wanx", "10.109.0.1"]), check=False)
        return lab

    def conf_react(self, lab, name):
        c = Conf(lab, self.work, name)
        c.add("network", "interface", "wanx", [
            ("device", "wanx"), ("proto", "static"), ("ipaddr", "10.109.0.2"),
            ("netmask", "255.255.255.0"), ("gateway", "10.109.0.1"), ("multipath", "on"),
            ("metric", "9"), ("auto", "1")])
        c.add("omr-tracker", "interface", "wanx", [("enabled", "1")])
        c.add("openmptcprouter", "interface", "wanx", [("multipath", "on")])
        for w in ("wan1", "wan2", "wanx"):
            c.add("omr-tracker", "interface", w, [("family", "ipv4")])
        return c

    def s3(self):
        lab = self.lab_react()
        rows = []
        notes = []
        parts = os.environ.get("BENCH_S3", "links,ddns,failover").split(",")  # development
        for part in ("links", "ddns", "failover"):
            if part in parts:
                getattr(self, "s3_" + part)(lab, rows, notes)
        self.report.section(
            "3. Reaction times",
            "Each trial timed from the moment of the cause to the effect; p99 is "
            "nearest-rank (with 30 trials: the largest).")
        self.report.table(["reaction", "trials", "p50", "p99", "min", "goal"], rows)
        self.report.notes(notes)

    def s3_links(self, lab, rows, notes):
        n = self.trials(30, 1)
        settle, quick_gap = 1.5, 0.3
        c = self.conf_react(lab, "s3-links")
        # The interface trackers only (no server tracker: its ICMP heartbeat would also
        # send echoes right after a link comes up); VPS probes to the literal address.
        c.add("omr-tracker", "server", "server", [("enabled", "0")])
        c.add("openmptcprouter", "server", "vps", [("ip", "198.51.100.10")])
        c.add("openmptcprouter", "server", "vps_backup", [("disabled", "1")])
        c.add("omr-tracker", "defaults", "defaults", [("hooks_on_change_only", "1")])
        fifo = os.path.join(self.work, "hook.fifo")
        os.mkfifo(fifo)
        with open(os.path.join(c.hooks, "050-stamp"), "w") as fh:
            # $EPOCHREALTIME first: the hook's first command (hooks run under bash).
            fh.write("#!/bin/sh\nt=$EPOCHREALTIME\n"
                     "echo \"$t $OMR_TRACKER_INTERFACE $OMR_TRACKER_STATUS\" > %s\n" % fifo)
        os.chmod(os.path.join(c.hooks, "050-stamp"), 0o755)
        hook_fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        keep_w = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # no EOF between hooks
        hooks = LineReader(hook_fd, "hooks")
        tcpd = spawn(nsx(lab.ns("r"), ["tcpdump", "-i", "any", "-n", "-tt", "-l",
                                       "--immediate-mode", "-Q", "out",
                                       "icmp[icmptype] == icmp-echo"]),
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        cap = LineReader(tcpd.stdout.fileno(), "tcpdump")
        # What another netlink listener of the router sees, and when: the kernel's part.
        mon = spawn(["ip", "-n", lab.ns("r"), "-ts", "monitor", "link"], stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL)
        nlmon = LineReader(mon.stdout.fileno(), "ip monitor")
        flip = spawn(nsx(lab.ns("isp1"), [sys.executable, os.path.join(BENCH_D, "flip.py")]),
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

        def flip_link(dev, what):
            flip.stdin.write("%s %s\n" % (dev, what))
            flip.stdin.flush()
            ans = flip.stdout.readline().split()
            if not ans or ans[0] != "ok":
                raise BenchError("flip %s %s: %s" % (dev, what, " ".join(ans)))
            return int(ans[1]), int(ans[2])

        d = Daemon(self, lab, c).start()
        res = {w: {k: [] for k in ("err", "hook", "probe", "ok", "fast", "kern", "d_err",
                                   "d_hook", "fast_kern", "d_fast")} for w in ("wan1", "wanx")}
        try:
            for w in ("wan1", "wanx"):
                d.wait(lambda s, w=w: iface_is(s, w, "OK"), 20, w + " OK")
            # tcpdump prints nothing before its first packet: wait until it captures.
            wait_for([cap], lambda: cap.lines, 5)
            last_event = mono_ns()
            for i in range(n):
                for w, dev in (("wan1", "cust"), ("wanx", "custx")):
                    log("3. links: trial %d/%d, %s" % (i + 1, n, w))
                    d.wait(lambda s, w=w: iface_is(s, w, "OK"), 20, w + " OK")
                    sleep_until(last_event + int(settle * 1e9))
                    drain([hooks, cap, nlmon, d.watch.r])
                    h0, m0 = len(hooks.lines), len(nlmon.lines)
                    d.watch.docs()
                    tm, tr = flip_link(dev, "down")
                    last_event = tm
                    te = d.watch.until(lambda s, w=w: iface_is(s, w, "ERROR", "link_down"), 10,
                                       extra=[hooks])

                    def hook_line(w=w, tr=tr):
                        for _, ln in hooks.lines[h0:]:
                            f = ln.split()
                            if (len(f) >= 3 and f[1] == w and f[2] == "ERROR"
                                    and float(f[0]) * 1e9 >= tr):
                                return float(f[0])
                        return None
                    th = wait_for([hooks, d.watch.r], hook_line, 10)
                    if te is None or th is None:
                        raise BenchError("%s: no ERROR or no hook after carrier loss" % w)
                    tk = wait_for([nlmon], lambda w=w, m0=m0, tr=tr:
                                  carrier_event(nlmon.lines[m0:], w, tr), 5)
                    if tk is None:
                        raise BenchError("%s: no netlink event after carrier loss" % w)
                    # monotonic arrival -> wall clock: the flip read both clocks at once
                    te_real_ms = (te - tm + tr) / 1e6
                    res[w]["err"].append((te - tm) / 1e6)
                    res[w]["hook"].append(th * 1e3 - tr / 1e6)
                    res[w]["kern"].append(tk * 1e3 - tr / 1e6)
                    res[w]["d_err"].append(te_real_ms - tk * 1e3)
                    res[w]["d_hook"].append(th * 1e3 - tk * 1e3)
                    sleep_until(last_event + int(settle * 1e9))
                    drain([hooks, cap, d.watch.r])
                    k0 = len(cap.lines)
                    d.watch.docs()
                    tm, tr = flip_link(dev, "up")
                    last_event = tm

                    def first_echo(w=w, tr=tr):
                        for _, ln in cap.lines[k0:]:
                            f = ln.split()
                            if len(f) > 2 and f[1] == w and float(f[0]) * 1e9 >= tr:
                                return float(f[0])
                        return None
                    tp = wait_for([cap, d.watch.r], first_echo, 10)
                    to = d.watch.until(lambda s, w=w: iface_is(s, w, "OK"), 20, extra=[cap])
                    if tp is None or to is None:
                        raise BenchError("%s: no echo or no OK after the link came back" % w)
                    res[w]["probe"].append(tp * 1e3 - tr / 1e6)
                    res[w]["ok"].append((to - tm) / 1e6)
                    # Carrier lost again soon after the link came up: within linkwatch's
                    # 1 s, the kernel holds back the event of a same-ifindex device.
                    sleep_until(last_event + int(quick_gap * 1e9))
                    drain([nlmon])
                    m0 = len(nlmon.lines)
                    d.watch.docs()
                    tm, tr = flip_link(dev, "down")
                    last_event = tm
                    te = d.watch.until(lambda s, w=w: iface_is(s, w, "ERROR", "link_down"), 10,
                                       extra=[hooks, cap, nlmon])
                    tk = wait_for([nlmon], lambda w=w, m0=m0, tr=tr:
                                  carrier_event(nlmon.lines[m0:], w, tr), 5)
                    if te is None or tk is None:
                        raise BenchError("%s: no ERROR after a quick carrier loss" % w)
                    res[w]["fast"].append((te - tm) / 1e6)
                    res[w]["fast_kern"].append(tk * 1e3 - tr / 1e6)
                    res[w]["d_fast"].append((te - tm + tr) / 1e6 - tk * 1e3)
                    if self.a.debug:
                        log("   %s quick down at %s: kernel +%.1f ms, ERROR +%.1f ms" % (
                            w, datetime.datetime.fromtimestamp(tr / 1e9).strftime("%H:%M:%S.%f"),
                            res[w]["fast_kern"][-1], res[w]["fast"][-1]))
                    sleep_until(last_event + int(settle * 1e9))
                    flip_link(dev, "up")
                    last_event = mono_ns()
        finally:
            d.stop()
            stop_proc(flip)
            stop_proc(tcpd)
            stop_proc(mon)
            os.close(hook_fd)
            os.close(keep_w)

        def row(label, xs, goal=None):
            p99 = pctl(xs, 99)
            g = "" if goal is None else "p99 ≤ %d ms — %s" % (goal, met(p99 <= goal))
            rows.append([label, str(len(xs)), num(median(xs), 1) + " ms", num(p99, 1) + " ms",
                         num(min(xs), 1) + " ms", g])
        names = {"wan1": "wan1 (distinct ifindex: VLAN, modem)",
                 "wanx": "wanx (same ifindex: physical NIC)"}
        q = "%.1f s after the link came up " % quick_gap
        row("carrier loss → ERROR, " + names["wan1"], res["wan1"]["err"], 50)
        row("carrier loss → ERROR, " + names["wanx"], res["wanx"]["err"])
        row("… kernel: carrier loss → netlink event, " + names["wanx"], res["wanx"]["kern"])
        for w in ("wan1", "wanx"):
            row("… daemon: netlink event → ERROR, " + names[w], res[w]["d_err"], 50)
        row("carrier loss → post-tracking hook running, " + names["wan1"], res["wan1"]["hook"],
            50)
        row("carrier loss → post-tracking hook running, " + names["wanx"], res["wanx"]["hook"])
        for w in ("wan1", "wanx"):
            row("… daemon: netlink event → hook running, " + names[w], res[w]["d_hook"], 50)
        for w in ("wan1", "wanx"):
            row("link up → first echo request on the wire, " + names[w], res[w]["probe"], 50)
        for w in ("wan1", "wanx"):
            row("link up → OK (first answered attempt), " + names[w], res[w]["ok"])
        row("carrier loss " + q + "→ ERROR, " + names["wan1"], res["wan1"]["fast"], 50)
        row("carrier loss " + q + "→ ERROR, " + names["wanx"], res["wanx"]["fast"])
        row("… kernel: carrier loss " + q + "→ netlink event, " + names["wanx"],
            res["wanx"]["fast_kern"])
        row("… daemon: netlink event → ERROR (%.1f s after up), %s" % (quick_gap, names["wanx"]),
            res["wanx"]["d_fast"], 50)
        notes.extend([
            "Carrier: the ISP end of the veth set down/up (`ip link set cust down`, done by a "
            "helper that reads CLOCK_MONOTONIC/CLOCK_REALTIME right before the ioctl). The "
            "kernel's linkwatch reports a carrier loss of a device whose ifindex equals its "
            "link's (a physical NIC; here wanx) no sooner than 1 s after its previous run "
            "(machine-wide: any namespace's link event counts), other devices (VLANs, "
            "modems, the lab's wan1) at once. The main trials are ≥ %.1f s apart, so that "
            "batching applies only when another link event on the machine came just before "
            "(other labs, containers); the `%.1f s after the link came up` rows provoke it. "
            "The kernel's part is split off with `ip -ts monitor link` in the router (the "
            "time another netlink listener receives the carrier change); the 50 ms goal is "
            "the daemon's part for wanx, the whole reaction for wan1 (ip stamps an event "
            "when it has read it, a little after the daemon may have: the daemon's part can "
            "come out slightly negative)."
            % (settle, quick_gap),
            "ERROR: arrival of the `omr-trackerctl watch` line (control socket → ctl → "
            "pipe included). Hook: `$EPOCHREALTIME` as the hook's first command: fork/exec "
            "of bash, its start-up and the runner's preamble included "
            "(`hooks_on_change_only 1`).",
            "First echo: `tcpdump -tt` on the router (capture time of the first echo request "
            "leaving the device; the ARP resolution of the gateway, flushed by the carrier "
            "loss, is included).",
        ])

    def s3_ddns(self, lab, rows, notes):
        n = self.trials(30, 1)
        c = self.conf_react(lab, "s3-ddns")
        c.add("omr-tracker", "daemon", "daemon", [("dns_ttl_floor", "1")])
        c.add("openmptcprouter", "server", "vps_backup", [("disabled", "1")])
        tcpd = spawn(nsx(lab.ns("r"), ["tcpdump", "-i", "any", "-n", "-tt", "-l",
                                       "--immediate-mode", "-Q", "out",
                                       "dst host 198.51.100.10 or dst host 198.51.100.11"]),
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        cap = LineReader(tcpd.stdout.fileno(), "tcpdump")
        d = Daemon(self, lab, c).start()
        in_use, first, cmd = [], [], []
        try:
            d.wait(lambda s: s["servers"]["vps"]["status"] == "OK"
                   and s["servers"]["vps"].get("in_use") == "198.51.100.10", 30, "vps OK")
            wait_for([cap], lambda: cap.lines, 5)
            addrs = ["198.51.100.11", "198.51.100.10"]
            for i in range(n):
                new = addrs[i % 2]
                v6 = "2001:db8:100::" + new.rsplit(".", 1)[1]
                log("3. DDNS: trial %d/%d -> %s" % (i + 1, n, new))
                k0 = len(cap.lines)
                d.watch.docs()
                t_real0 = real_ns()
                t0, t1 = lab.fault("dns", "set", "vps", "%s,%s" % (new, v6))
                cmd.append((t1 - t0) / 1e6)
                tu = d.watch.until(lambda s, new=new: s["servers"]["vps"].get("in_use") == new,
                                   15, extra=[cap])

                def first_pkt(new=new):
                    for _, ln in cap.lines[k0:]:
                        if (" > %s" % new) in ln and float(ln.split()[0]) * 1e9 >= t_real0:
                            return float(ln.split()[0])
                    return None
                tp = wait_for([cap, d.watch.r], first_pkt, 15)
                if tu is None or tp is None:
                    raise BenchError("DDNS: %s not followed" % new)
                in_use.append((tu - t0) / 1e6)
                first.append(tp * 1e3 - t_real0 / 1e6)
        finally:
            d.stop()
            stop_proc(tcpd)
            lab.lab("unfault", "dns", check=False)
        for label, xs in (("DDNS change → first packet to the new address", first),
                          ("DDNS change → `in_use` = new address (checked)", in_use)):
            p99 = pctl(xs, 99)
            rows.append([label + " (TTL 1 s)", str(len(xs)), num(median(xs), 0) + " ms",
                         num(p99, 0) + " ms", num(min(xs), 0) + " ms",
                         "≤ TTL + 1 s = 2000 ms — " + met(p99 <= 2000)])
        notes.append(
            "DDNS: `tools/lab fault dns set vps NEW` (dnsmasq re-reads the name at once); "
            "timed from just before the command (it takes %s ms itself), DNS TTL 1 s and "
            "`dns_ttl_floor 1`; addresses alternate between .11 and .10, each probed by "
            "nothing else, so the first packet to it is the daemon following the change."
            % num(median(cmd), 0))

    def s3_failover(self, lab, rows, notes):
        n = self.trials(30, 1)
        tmo = self.a.failover_timeout
        c = self.conf_react(lab, "s3-failover")
        c.add("omr-tracker", "server", "server", [("timeout", str(tmo))])
        d = Daemon(self, lab, c).start()
        res, back, cmd = [], [], []
        try:
            for i in range(n):
                log("3. failover: trial %d/%d" % (i + 1, n))
                d.wait(lambda s: s["servers"]["vps"]["current"]
                       and s["servers"]["vps"]["status"] == "OK"
                       and s["servers"]["vps_backup"]["status"] == "OK", 60, "master current")
                time.sleep(0.5)
                d.watch.docs()
                # What `tools/lab fault vps-unreachable master on` does (same table, so the
                # lab's unfault removes it), stamped right before the rules apply.
                t0 = nft_stamped(lab.ns("net"), (
                    "table inet lab_unreach_master {\n chain in { type filter hook input "
                    "priority -10; policy accept;\n  ip daddr %s counter drop\n"
                    "  ip6 daddr %s counter drop\n }\n}\n") % (
                        lab.env["LAB_VPS_MASTER4"], lab.env["LAB_VPS_MASTER6"]))
                tb = d.wait(lambda s: s["servers"]["vps_backup"]["current"], 3 * tmo + 30,
                            "backup current")
                res.append((tb - t0) / 1e6)
                t0, _ = lab.fault("vps-unreachable", "master", "off")
                cmd.append((mono_ns() - t0) / 1e6)
                if i + 1 < n or not self.quick:
                    tm = d.wait(lambda s: s["servers"]["vps"]["current"], 60, "master back")
                    back.append((tm - t0) / 1e6)
        finally:
            d.stop()
            lab.lab("unfault", "vps-unreachable", "master", check=False)
        goal = (tmo + 1) * 1000
        p99 = pctl(res, 99)
        rows.append(["master VPS unreachable → backup current (`timeout %d`)" % tmo,
                     str(len(res)), num(median(res), 0) + " ms", num(p99, 0) + " ms",
                     num(min(res), 0) + " ms",
                     "≤ timeout + 1 s = %d ms — %s" % (goal, met(p99 <= goal))])
        if back:
            rows.append(["master reachable again → master current", str(len(back)),
                         num(median(back), 0) + " ms", num(pctl(back, 99), 0) + " ms",
                         num(min(back), 0) + " ms", ""])
        notes.append(
            "Failover: every packet to the master dropped in the internet namespace (the "
            "nftables table of `tools/lab fault vps-unreachable master on`, applied by an "
            "`nft` already waiting for its input, stamped right before), to the watch line "
            "with `vps_backup` current; server tracker `apiping`, `interval 5`, `timeout %d` "
            "(shipped: 10; the goal is relative to it). Back: from just before `tools/lab "
            "fault vps-unreachable master off` (%s ms itself) to `vps` current again."
            % (tmo, num(median(cmd), 0)))

    # ===================================================================================
    # 4. Scale

    def s4(self):
        lab = self.lab_main()
        runs = self.runs(3)
        win = 2.0 if self.quick else 15.0  # whole seconds: whole 1 s cycles
        sizes = [2, 32] if self.quick else [2, 32, 332]  # VPS addresses; targets = 3 × (2 + S)
        wans = [self.counters["wan%d" % i] for i in range(1, 4)]
        res = {s: [] for s in sizes}
        for run_i in range(runs):
            for s in sizes:
                tgt = 3 * (2 + s)
                log("4. scale: %d targets, run %d/%d" % (tgt, run_i + 1, runs))
                c = self.conf_bare(lab, "s4-%d-%d" % (s, run_i), ("wan1", "wan2", "wan3"))
                for i in range(1, 4):
                    c.add("omr-tracker", "interface", "wan%d" % i, [
                        ("type", "ping"), ("count", "1"), ("interval", "1"),
                        ("family", "ipv4ipv6"), ("timeout", "2")])
                addrs = ["10.77.%d.%d" % (k // 250, k % 250 + 1) for k in range(s // 2)] + \
                        ["2001:db8:77::%x" % (k + 1) for k in range(s - s // 2)]
                # A server's `ip` list takes at most 256 entries: several servers.
                for k in range(0, len(addrs), 200):
                    c.add("openmptcprouter", "server", "bench%d" % (k // 200), [
                        ("disabled", "0"), ("list", "ip", addrs[k:k + 200])])
                d = Daemon(self, lab, c).start()
                try:
                    d.wait(lambda st: all(iface_is(st, "wan%d" % i, "OK") for i in (1, 2, 3)),
                           30, "wan1-3 OK")
                    time.sleep(0.5 if self.quick else 2.0)
                    align_to_gap(wans[0])
                    s0, e0 = Sample(d.pid), read_counters(wans)
                    time.sleep(win)
                    s1, e1 = Sample(d.pid), read_counters(wans)
                finally:
                    d.stop()
                dt = (s1.t - s0.t) / 1e9
                probes = e1 - e0
                res[s].append(dict(
                    cpu=(s1.cpu - s0.cpu) / 1e9 / dt * 100, rate=probes / dt,
                    us=(s1.cpu - s0.cpu) / 1e3 / max(probes, 1), wk=(s1.vcsw - s0.vcsw) / dt,
                    rss=s1.status.get("VmRSS"), anon=s1.status.get("RssAnon")))
        rows = []
        for s in sizes:
            rr = res[s]
            rows.append(["%d" % (3 * (2 + s)), spread([x["rate"] for x in rr], 0),
                         spread([x["cpu"] for x in rr], 3, " %"), spread([x["us"] for x in rr]),
                         spread([x["wk"] for x in rr], 1), spread([x["rss"] for x in rr], 0),
                         spread([x["anon"] for x in rr], 0)])
        big = sizes[-1]
        cpu_big = median([x["cpu"] for x in res[big]])
        # Linear fit of the medians: CPU (µs per second) = a + b × echo/s.
        xs = [median([x["rate"] for x in res[s]]) for s in sizes]
        ys = [median([x["cpu"] for x in res[s]]) * 1e4 for s in sizes]  # % -> µs/s
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        sxx = sum((x - mx) ** 2 for x in xs)
        b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else float("nan")
        a0 = my - b * mx
        dev = max(abs(y - (a0 + b * x)) / y for x, y in zip(xs, ys)) * 100 if ys else 0
        goal_row = ""
        if big == 332:
            goal_row = " Goal: 1002 targets < 5 %% of one core — %s." % met(cpu_big < 5)
        self.report.section(
            "4. Scale: targets probed once a second",
            "%d run(s) of %.0f s, median [min–max].%s" % (runs, win, goal_row))
        self.report.table(["targets", "echo/s", "CPU, % of one core", "µs per echo",
                           "wakeups/s", "VmRSS kB", "RssAnon kB"], rows)
        self.report.notes([
            "3 WANs, each `type ping`, `count 1`, `interval 1`, `family ipv4ipv6`; targets "
            "= 3 WANs × (2 gateways + S VPS addresses, half IPv4, half IPv6, answered by "
            "AnyIP routes in the internet namespace). Spread over 6 (WAN, family) probers "
            "because a prober keeps at most 256 echoes in flight.",
            "Linear: a least-squares line through the medians, CPU = %s µs/s + %s µs × "
            "echo/s, is off by at most %s %% at any size (the fixed part is the netlink, "
            "status and timer work that does not depend on the targets)."
            % (num(a0), num(b), num(dev, 1)),
        ])

    # ===================================================================================
    # 5. API check cost

    def s5(self):
        lab = self.lab_main()
        runs = self.runs(3)
        n = 10 if self.quick else 100
        res = {m: [] for m in ("full", "resumed", "keepalive")}
        for run_i in range(runs):
            log("5. API checks, run %d/%d (%d per mode)" % (run_i + 1, runs, n))
            out = run(nsx(lab.ns("r"), [
                self.tool["omrt-bench-api"], "--host", "198.51.100.10", "--device", "wan1",
                "--source", "10.101.0.2", "--password-file", lab.env["LAB_PASSWORD_FILE"],
                "-n", str(n)])).stdout
            for line in out.splitlines():
                j = json.loads(line)
                res[j["mode"]].append(j)
        ka = [x["cpu_us_per_check"] for x in res["keepalive"]]
        rows = []
        labels = {"full": "new connection, full TLS handshake",
                  "resumed": "new connection, TLS session resumed",
                  "keepalive": "kept-alive connection"}
        for m in ("full", "resumed", "keepalive"):
            xs = [x["cpu_us_per_check"] for x in res[m]]
            ratio = [a / b for a, b in zip(xs, ka)]
            j = res[m][0]
            rows.append([labels[m], spread(xs, 0, " µs"), spread(ratio, 1, "×"),
                         "%d / %d / %d" % (j["full_handshakes"], j["resumed"], j["reused"]),
                         "%d / %d" % (j["bytes_in_per_check"], j["bytes_out_per_check"])])
        self.report.section(
            "5. CPU per VPS API check (GET /, the server tracker's check)",
            "%d run(s) of %d checks per way, median [min–max]; client side only "
            "(getrusage of the checking process), against tools/fakevps.py in the lab "
            "(TLS 1.2, RSA-2048 self-signed certificate like a VPS, ECDHE-RSA-AES-CBC)."
            % (runs, n))
        self.report.table(["way", "CPU per check", "÷ kept-alive",
                           "full / resumed / reused (per run)", "TLS bytes in / out per check"],
                          rows)

    # ===================================================================================
    # 6. Callgrind instruction counts

    def callgrind(self, lab, name, argv):
        """Runs argv under callgrind in the router; the summaries of its client-request
        dumps, in order."""
        out = os.path.join(self.work, "cg-%s" % name)
        os.makedirs(out, exist_ok=True)
        prefix = os.path.join(out, "cg.out")
        p = run(nsx(lab.ns("r"), ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + prefix]
                    + argv), check=False)
        if p.returncode != 0:
            raise BenchError("valgrind %s: exit %d\n%s" % (name, p.returncode, p.stderr[-1500:]))
        dumps = []
        for f in glob.glob(prefix + ".*"):
            text = open(f, errors="replace").read()
            if "Trigger: Client Request" not in text:
                continue
            m = re.search(r"^summary:\s+(\d+)", text, re.M)
            part = int(f.rsplit(".", 1)[1])
            dumps.append((part, int(m.group(1))))
        return [v for _, v in sorted(dumps)]

    def s6(self):
        lab = self.lab_main()
        runs = 1 if self.quick else (self.a.runs or 3)
        cycles = 10
        c = self.conf_bare(lab, "s6")
        c.add("omr-tracker", "interface", "wan1", [("family", "ipv4")])
        c.add("openmptcprouter", "server", "vps", [("disabled", "0"), ("ip", "198.51.100.10")])
        cyc, api = [], {m: [] for m in ("full", "resumed", "keepalive")}
        for run_i in range(runs):
            log("6. callgrind, run %d/%d" % (run_i + 1, runs))
            v = self.callgrind(lab, "cycle-%d" % run_i, [
                self.tool["omrt-bench-cycle"], "-C", c.dir, "-i", "wan1", "-w", "3",
                "-n", str(cycles)])
            cyc.append(v[0] / cycles)
            v = self.callgrind(lab, "api-%d" % run_i, [
                self.tool["omrt-bench-api"], "--host", "198.51.100.10", "--device", "wan1",
                "--source", "10.101.0.2", "--password-file", lab.env["LAB_PASSWORD_FILE"],
                "-n", "1"])
            for m, x in zip(("full", "resumed", "keepalive"), v):
                api[m].append(x)
        rows = [["one interface cycle: `count 2`, gateway + 1 VPS, IPv4 (4 echoes)",
                 spread(cyc, 0), num(median(cyc) / 4, 0)]]
        labels = {"full": "one API check, full TLS handshake",
                  "resumed": "one API check, TLS session resumed",
                  "keepalive": "one API check, kept-alive connection"}
        for m in ("full", "resumed", "keepalive"):
            rows.append([labels[m], spread(api[m], 0), "—"])
        self.report.section(
            "6. Instruction counts (callgrind, user space)",
            "%d run(s), median [min–max]: repeatable across a noisy machine (the spread "
            "comes from how many times the loop wakes up, not from the load)." % runs)
        self.report.table(["region", "instructions", "per echo"], rows)
        self.report.notes([
            "Cycle: tools/bench.d/cycle_cost.cc runs the real IfaceTracker (ICMP probers, "
            "netlink monitor, status board) on wan1 of the lab; each verdict starts the next "
            "cycle at once. Counted: from the end of the 3rd verdict to the end of the "
            "%dth, ÷ %d — the cycle's start, the echoes sent, the replies read and matched, "
            "the window statistics, the verdict and the board update, libev and libc "
            "included; not the status file (written at most every 5 s when only "
            "measurements change), no hooks, not the kernel." % (3 + cycles, cycles),
            "API check: tools/bench.d/api_cost.cc, the daemon's ApiClient (mbedTLS "
            "%s), GET / to the lab's VPS; counted from right before `check()` to the return "
            "of the loop after its completion callback, after two warm-up checks."
            % mbedtls_version(),
        ])

    # ===================================================================================

    def header(self, sections, t_total):
        cpu = "?"
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        virt = ""
        if os.path.exists("/sys/hypervisor/type") or "hypervisor" in open("/proc/cpuinfo").read():
            virt = ", virtual machine"
        commit = run(["git", "-C", TOP, "rev-parse", "--short", "HEAD"], check=False).stdout.strip()
        dirty = run(["git", "-C", TOP, "status", "--porcelain", "--untracked-files=no"],
                    check=False).stdout.strip()
        fping = run(["fping", "--version"], check=False).stdout.strip().splitlines()
        gxx = run(["g++", "-dumpfullversion"], check=False).stdout.strip()
        lines = [
            "omr-trackerd benchmarks — `tools/bench%s%s`, %s" % (
                " --quick" if self.quick else "",
                "" if sections == "123456" else " --sections " + ",".join(sections),
                datetime.datetime.now().strftime("%Y-%m-%d %H:%M")),
            "",
            "- machine: %s, %d cores%s; Linux %s (%s); load average %s at start" % (
                cpu, os.cpu_count(), virt, platform.release(), platform.machine(),
                self.load0),
            "- build: commit %s%s, %s, g++ %s, MinSizeRel (-Os); %s" % (
                commit or "?", " + uncommitted changes" if dirty else "", self.build, gxx,
                fping[0] if fping else "fping ?"),
            "- whole run: %.0f s" % t_total,
        ]
        return "\n".join(lines) + "\n"


def mbedtls_version():
    try:
        text = open("/usr/include/mbedtls/version.h").read()
        return re.search(r'MBEDTLS_VERSION_STRING\s+"([^"]+)"', text).group(1)
    except (OSError, AttributeError):
        return "?"


def main():
    ap = argparse.ArgumentParser(prog="tools/bench",
                                 description="omr-trackerd benchmarks (issue 9)")
    ap.add_argument("--build", required=True, help="the build directory")
    ap.add_argument("--quick", action="store_true", help="the CI smoke: short windows, few runs")
    ap.add_argument("--sections", default="1,2,3,4,5,6", help="e.g. 1,3 (default all)")
    ap.add_argument("--runs", type=int, default=0, help="runs per measurement (default 5/3, quick 1)")
    ap.add_argument("--trials", type=int, default=0, help="trials per reaction (default 30)")
    ap.add_argument("--failover-timeout", type=int, default=3,
                    help="the server tracker's timeout in the failover trials (default 3 s)")
    ap.add_argument("--output", help="also write the report to this file")
    ap.add_argument("--debug", action="store_true",
                    help="daemons log at debug level; the work directory (configs, logs) is kept")
    a = ap.parse_args()
    sections = "".join(sorted(set(re.findall(r"[1-6]", a.sections))))
    if not sections:
        ap.error("--sections: pick among 1..6")

    b = Bench(a)
    with open("/proc/loadavg") as fh:
        b.load0 = " ".join(fh.read().split()[:3])

    def on_term(signum, frame):
        raise KeyboardInterrupt()
    # Ctrl-C stops the run (and cleans up) even when started from a script that left
    # SIGINT ignored for background jobs.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    rc = 0
    try:
        for s in sections:
            getattr(b, "s" + s)()
    except KeyboardInterrupt:
        log("interrupted; cleaning up")
        rc = 130
    except BenchError as e:
        log("FAILED: %s" % e)
        rc = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # cleanup must finish
        for p in reversed(PROCS):
            try:
                stop_proc(p)
            except Exception:  # noqa: BLE001 - keep cleaning up
                pass
        for lab in LABS:
            lab.down()
        if a.debug:
            log("work directory kept: %s" % b.work)
        else:
            shutil.rmtree(b.work, ignore_errors=True)
    t_total = (mono_ns() - b.t_start) / 1e9
    text = b.header(sections, t_total) + b.report.text()
    sys.stdout.write("\n" + text)
    sys.stdout.flush()
    if a.output:
        with open(a.output, "w") as fh:
            fh.write(text)
    return rc


if __name__ == "__main__":
    sys.exit(main())
