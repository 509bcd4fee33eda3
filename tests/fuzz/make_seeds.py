#!/usr/bin/env python3
"""Writes the committed seed corpora of tests/fuzz/corpus/ (run from anywhere; idempotent).

Seeds are small, valid or nearly valid inputs of each parser, so the fuzzer starts from
the interesting formats instead of discovering them byte by byte. Inputs that once made
a target fail are added by hand as corpus/NAME/crash-* (never regenerated here).
"""
import base64
import hmac
import hashlib
import json
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ------------------------------------------------------------------ uci
def uci():
    for f in ("omr-tracker", "network", "openmptcprouter"):
        with open(os.path.join(TOP, "tests/data/config/omr", f), "rb") as fh:
            put("uci", "omr-" + f, fh.read())
    with open(os.path.join(TOP, "tests/data/config/bad/omr-tracker"), "rb") as fh:
        put("uci", "bad-omr-tracker", fh.read())
    put("uci", "syntax",
        "package omr-tracker\n"
        "config defaults\n"
        "\toption a 'x'\"y\"z # comment\n"
        "\toption b \"line1\nline2\" ; option c \\\n  joined\n"
        "\tlist hosts '1.1.1.1'\n\tlist hosts \"2606:4700::1111\"\n"
        "\toption hosts 'back to option'\n"
        "config interface 'wan1'\n\toption it 'it'\\''s'\n"
        "c interface wan1\n\to extra 1;l l1 a;l l1 b\n"
        "config interface 'wan1x' too many\n"
        "config 'bad type' x\n\toption x ''\n")
    # A name given explicitly that equals the one libuci generates for a later anonymous
    # section (cfgNNHHHH): both exist, lookups find the first.
    put("uci", "anonymous-name-collision",
        "config server 'cfg020f15'\n\toption ip 'vps.example'\n\nconfig device\n"
        "\toption name 'br-lan'\n\nconfig server 'cfg020f15'\n\toption port '65500'\n")


# ------------------------------------------------------------------ icmp
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def icmp4(t, code, rest, data):
    h = struct.pack("!BBH4s", t, code, 0, rest) + data
    c = csum(h)
    return h[:2] + struct.pack("!H", c) + h[4:]


def ip4(proto, src, dst, payload, ttl=64):
    total = 20 + len(payload)
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0x1234, 0, ttl, proto, 0,
                    bytes(src), bytes(dst))
    return h + payload


def icmp_seeds():
    pattern = bytes((0x10 + i) & 0xff for i in range(56))
    echo_rest = struct.pack("!HH", 0x4f4d, 7)
    reply4 = icmp4(0, 0, echo_rest, pattern)
    request4 = icmp4(8, 0, echo_rest, pattern)
    vps = [198, 51, 100, 10]
    wan = [10, 101, 0, 2]
    # mode byte: bit0 v6, bit1 raw IPv4 framing, bit2 verify checksum, bit3 error queue
    put("icmp", "v4-reply-dgram", b"\x00" + reply4)
    put("icmp", "v4-reply-raw", b"\x06" + ip4(1, vps, wan, reply4))
    quote = ip4(1, wan, vps, request4)[:28]
    put("icmp", "v4-unreach-raw", b"\x06" + ip4(1, [10, 101, 0, 1], wan,
                                               icmp4(3, 1, b"\0\0\0\0", quote)))
    put("icmp", "v4-frag-needed", b"\x04" + icmp4(3, 4, struct.pack("!HH", 0, 1400), quote))
    put("icmp", "v4-ttl-exceeded", b"\x04" + icmp4(11, 0, b"\0\0\0\0", quote))
    udp_quote = ip4(17, wan, vps, struct.pack("!HHHH", 1234, 53, 8, 0))
    put("icmp", "v4-unreach-udp", b"\x04" + icmp4(3, 3, b"\0\0\0\0", udp_quote))
    put("icmp", "v4-errqueue", b"\x08" + request4[:8])
    reply6 = struct.pack("!BBHHH", 129, 0, 0, 0x4f4d, 9) + pattern
    put("icmp", "v6-reply", b"\x01" + reply6)
    req6 = struct.pack("!BBHHH", 128, 0, 0, 0x4f4d, 9) + pattern
    src6 = bytes.fromhex("20010db8010100000000000000000002")
    dst6 = bytes.fromhex("20010db8010000000000000000000010")
    ip6 = struct.pack("!IHBB", 0x60000000, len(req6), 58, 64) + src6 + dst6
    put("icmp", "v6-unreach", b"\x01" + struct.pack("!BBHI", 1, 3, 0, 0) + ip6 + req6)
    put("icmp", "v6-too-big", b"\x01" + struct.pack("!BBHI", 2, 0, 0, 1280) + ip6 + req6[:8])
    put("icmp", "v6-errqueue", b"\x09" + req6[:8])


# ------------------------------------------------------------------ http
def http_seeds():
    # mode byte (bit0 tiny limits, bit1 finish with EOF), 4 bytes of split seed, response
    def put_http(name, resp, mode=0):
        put("http", name, bytes([mode]) + b"\x12\x34\x56\x78" + resp.encode())
    body = json.dumps({"access_token": "x.y.z", "token_type": "bearer"})
    put_http("token-200",
             "HTTP/1.1 200 OK\r\ndate: Mon, 01 Jan 2024 00:00:00 GMT\r\nserver: uvicorn\r\n"
             "content-length: %d\r\ncontent-type: application/json\r\n\r\n%s" % (len(body), body))
    put_http("chunked",
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
             "4;ext=1\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\nTrailer: x\r\n\r\n")
    put_http("401", "HTTP/1.1 401 Unauthorized\r\ncontent-length: 43\r\n"
             "www-authenticate: Bearer\r\n\r\n{\"detail\":\"Incorrect username or password\"}")
    put_http("continue", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")
    put_http("until-close", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nbody until close", 2)
    put_http("close", "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\n"
             "Content-Length: 21\r\n\r\nInternal Server Error", 0)
    put_http("two", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
             "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    put_http("tiny", "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n", 1)
    put_http("bare-lf", "HTTP/1.1 200 OK\nContent-Length: 3, 3\n\nabc")
    put_http("smuggle", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")


# ------------------------------------------------------------------ token / json
def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(claims):
    head = b64u(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    pay = b64u(json.dumps(claims).encode())
    sig = b64u(hmac.new(b"secret", (head + "." + pay).encode(), hashlib.sha256).digest())
    return head + "." + pay + "." + sig


def token_seeds():
    t = jwt({"sub": "openmptcprouter", "exp": 1893456000})
    put("token", "reply", json.dumps({"access_token": t, "token_type": "bearer"}))
    put("token", "reply-noexp", json.dumps({"access_token": jwt({"sub": "x"})}))
    put("token", "jwt", t)
    put("token", "jwt-frac", jwt({"exp": 1.7e9 + 0.5}))
    put("token", "detail-401", '{"detail":"Incorrect username or password"}')
    put("token", "detail-422", json.dumps({"detail": [
        {"loc": ["body", "password"], "msg": "field required", "type": "value_error.missing",
         "input": "secret"}]}))
    put("token", "escapes", '{"s":"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00",'
                            '"n":[-0,1.5e3,-2E-2,0.000001,1e999],"t":true,"f":false,"z":null}')
    put("token", "deep", "[" * 17 + "]" * 17)
    put("token", "b64", "c2hhMjU2Ly9hYmNkZWY=")
    put("token", "status", '{"ok":true,"status":{"interfaces":{"wan1":{"status":"OK",'
                           '"latency_ms":12.5,"history":[1,null,-1]}}}}')


# ------------------------------------------------------------------ netlink
def c_hex_arrays(path):
    text = open(path).read()
    arrays = {}
    for name in ("kLinks", "kAddrs", "kRoutes"):
        start = text.index(name)
        body = text[text.index("{", start) + 1:text.index("};", start)]
        msgs = []
        for elem in body.split(","):
            parts = re.findall(r'"([0-9a-f]*)"', elem)
            if parts:
                msgs.append(bytes.fromhex("".join(parts)))
        arrays[name] = msgs
    return arrays


def nlmsg(t, flags, seq, payload):
    n = 16 + len(payload)
    pad = (4 - n % 4) % 4
    return struct.pack("=IHHII", n, t, flags, seq, 0) + payload + b"\0" * pad


def netlink_seeds():
    a = c_hex_arrays(os.path.join(TOP, "tests/unit/netlink/recorded.h"))
    done = lambda seq: nlmsg(3, 2, seq, struct.pack("=i", 0))  # NLMSG_DONE, NLM_F_MULTI
    for i, m in enumerate(a["kLinks"][:2]):
        put("netlink", "link-%d" % i, m + done(0))
    put("netlink", "addrs", b"".join(a["kAddrs"]) + done(1))
    routes = b"".join(a["kRoutes"])
    put("netlink", "routes", routes[:3800] if len(routes) > 3800 else routes)
    put("netlink", "routes-done", b"".join(a["kRoutes"][:4]) + done(2))
    # RTM_NEWLINK event: ifindex 3 "wan1", flags UP|BROADCAST (no RUNNING), carrier 0
    def attr(t, data):
        n = 4 + len(data)
        return struct.pack("=HH", n, t) + data + b"\0" * ((4 - n % 4) % 4)
    ifi = struct.pack("=BxHiII", 0, 1, 3, 0x1003, 0xffffffff)
    link = nlmsg(16, 0, 0, ifi + attr(3, b"wan1\0") + attr(33, b"\0") + attr(16, b"\x02"))
    put("netlink", "event-carrier-down", link)
    err = nlmsg(2, 0, 5, struct.pack("=i", -16) + struct.pack("=IHHII", 20, 18, 0x301, 5, 0))
    put("netlink", "error-ebusy", err + link)


# ------------------------------------------------------------------ dns
def dns_name(n):
    return b"".join(bytes([len(l)]) + l.encode() for l in n.split(".") if l) + b"\0"


def dns_reply(qname, qtype, answers, rcode=0, flags=0x8180):
    h = struct.pack("!HHHHHH", 0x1234, flags | rcode, 1, len(answers), 0, 0)
    q = dns_name(qname) + struct.pack("!HH", qtype, 1)
    out = h + q
    for owner, t, ttl, rdata in answers:
        out += owner + struct.pack("!HHIH", t, 1, ttl, len(rdata)) + rdata
    return out


def dnswire_seeds():
    ptr = b"\xc0\x0c"
    put("dnswire", "a", dns_reply("vps.lab.test", 1, [(ptr, 1, 5, bytes([198, 51, 100, 10])),
                                                      (ptr, 1, 5, bytes([198, 51, 100, 11]))]))
    put("dnswire", "aaaa", dns_reply("vps.lab.test", 28, [
        (ptr, 28, 300, bytes.fromhex("20010db8010000000000000000000010"))]))
    cname_rdata = dns_name("real.lab.test")
    r = dns_reply("vps.lab.test", 1, [(ptr, 5, 60, cname_rdata)])
    # the A record's owner points at the CNAME target inside the first answer's rdata
    target_off = len(r) - len(cname_rdata)
    r2 = dns_reply("vps.lab.test", 1, [(ptr, 5, 60, cname_rdata),
                                       (struct.pack("!H", 0xc000 | target_off), 1, 30,
                                        bytes([192, 0, 2, 7]))])
    put("dnswire", "cname", r2)
    put("dnswire", "cname-only", r)
    put("dnswire", "nxdomain", dns_reply("nx.lab.test", 1, [], rcode=3))
    put("dnswire", "truncated", dns_reply("vps.lab.test", 1, [], flags=0x8380))
    put("dnswire", "other-name", dns_reply("vps.lab.test", 1, [
        (dns_name("evil.example"), 1, 5, bytes([203, 0, 113, 1]))]))
    put("dnswire", "escaped", dns_reply("a\\.b", 1, [])[:-4] + b"\x03a.b\x00\x00\x01\x00\x01")


# ------------------------------------------------------------------ sysconf
def sysconf_seeds():
    put("sysconf", "resolv.conf", "# Generated\nnameserver 127.0.0.1\nnameserver ::1\n"
                                  "search lan\noptions ndots:1\nnameserver fe80::1%wan1\n")
    put("sysconf", "resolv.conf.auto",
        "# Interface wan1\nnameserver 10.101.0.1\nnameserver 2001:db8:101::1\n"
        "search isp1.example\n# Interface wan2\nnameserver 10.102.0.1\n"
        "# Interface wan2_6\nnameserver 2001:db8:102::1\n")
    put("sysconf", "hosts", "127.0.0.1 localhost\n::1 localhost ip6-localhost\n"
                            "198.51.100.10 vps.lab.test vps # master\n"
                            "2001:db8:100::10\tVPS.lab.test.\n"
                            "192.0.2.1 a..b\n300.1.1.1 bad\n")
    put("sysconf", "many", "".join("nameserver 192.0.2.%d\n" % i for i in range(1, 10)))
    put("sysconf", "server-port", "[2001:db8::53]:5353\nnameserver 192.0.2.53\n")


# ------------------------------------------------------------------ control
def control_seeds():
    # first byte: write chunk size - 1
    put("control", "status", b"\xff" + b'{"cmd":"status"}\n')
    put("control", "recheck", b"\x03" + b'{"cmd":"recheck","name":"wan1"}\n{"cmd":"recheck"}\n')
    put("control", "recheck-unknown", b"\x10" + b'{"cmd":"recheck","name":"x\\u0001\\"y"}\n')
    put("control", "reload", b"\xff" + b'{"cmd":"reload"}\r\n{"cmd":"reload"}\n')
    put("control", "watch", b"\x07" + b'{"cmd":"watch"}\n{"cmd":"recheck","name":"vps"}\n'
                                      b'{"cmd":"recheck","name":"wan1"}\n')
    put("control", "bad", b"\x01" + b'[1]\n{"cmd":3}\n{}\nnot json\n{"cmd":"metrics"}\n'
                                    b'{"cmd":"status"')
    put("control", "too-long", b"\xff" + b'{"cmd":"' + b"x" * 4200 + b'"}\n{"cmd":"status"}\n')


uci()
icmp_seeds()
http_seeds()
token_seeds()
netlink_seeds()
dnswire_seeds()
sysconf_seeds()
control_seeds()
print("seeds written under", os.path.join(HERE, "corpus"))
