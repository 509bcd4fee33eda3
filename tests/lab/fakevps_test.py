#!/usr/bin/python3
"""The fake VPS API (tools/fakevps.py) against the contract of reference omr-tracker.md 5.6.

Runs on loopback (127.0.0.1 / ::1, free ports), needs no root: every route and status code,
form decoding, bearer/cookie auth, TLS 1.2 only with uvicorn's cipher string, keep-alive
and its idle timeout, session resumption (tickets and session IDs) visible in the stats,
every control command, robustness against bad clients, no secrets in the log, clean exit.
"""

import base64
import hashlib
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

SRC = os.environ.get("OMRT_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
FAKEVPS = os.path.join(SRC, "tools", "fakevps.py")
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
USER, PASSWORD = "openmptcprouter", "s3cret-key_42"

checks = 0
fails = 0
t_start = time.monotonic()


def check(desc, cond):
    global checks, fails
    checks += 1
    if not cond:
        fails += 1
    mark = "ok  " if cond else "FAIL"
    print("%s [%5.1fs] %s" % (mark, time.monotonic() - t_start, desc), flush=True)
    return cond


def make_cert(cert, key, cn):
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=" + cn], capture_output=True)
    return r.returncode == 0


def have_ipv6():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(limit_s, fn):
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        if fn():
            return True
        time.sleep(0.02)
    return fn()


class Server:
    def __init__(self, tmp, name, bind, extra=()):
        self.port = free_port()
        self.ctl = os.path.join(tmp, name + ".ctl")
        self.pidfile = os.path.join(tmp, name + ".pid")
        self.log = os.path.join(tmp, name + ".log")
        pwfile = os.path.join(tmp, "pw")
        with open(pwfile, "w") as f:
            f.write(PASSWORD + "\n")
        self.proc = subprocess.Popen(
            [PY, FAKEVPS, "serve", "--bind", bind, "--port", str(self.port),
             "--cert", os.path.join(tmp, "cert.pem"), "--key", os.path.join(tmp, "key.pem"),
             "--username", USER, "--password-file", pwfile, "--control", self.ctl,
             "--pidfile", self.pidfile, "--log", self.log] + list(extra),
            stdin=subprocess.DEVNULL)
        if not wait_until(10, lambda: os.path.exists(self.pidfile)):
            raise SystemExit("fakevps did not start")

    def ctl_cmd(self, *args):
        r = subprocess.run([PY, FAKEVPS, "ctl", self.ctl] + list(args), capture_output=True,
                           text=True)
        try:
            ans = json.loads(r.stdout)
        except ValueError:
            ans = {}
        return r.returncode, ans

    def stats(self):
        return self.ctl_cmd("stats")[1]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def client_ctx(tickets=True):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # like the router: curl -k
    if not tickets:
        ctx.options |= ssl.OP_NO_TICKET
    return ctx


def conn(srv, host="127.0.0.1", ctx=None, timeout=5):
    return http.client.HTTPSConnection(host, srv.port, context=ctx or client_ctx(), timeout=timeout)


def request(srv, method, path, body=None, headers=None, host="127.0.0.1"):
    c = conn(srv, host)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
    finally:
        c.close()


FORM = {"Content-Type": "application/x-www-form-urlencoded", "accept": "application/json"}


def post_token(srv, body, headers=None):
    return request(srv, "POST", "/token", body, FORM if headers is None else headers)


def get_token(srv, host="127.0.0.1"):
    body = "username=%s&password=%s" % (USER, urllib.parse.quote(PASSWORD))
    st, _, body = request(srv, "POST", "/token", body, FORM, host)
    return json.loads(body)["access_token"] if st == 200 else None


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def test_routes(srv, v6):
    st, h, body = request(srv, "GET", "/")
    check("GET / -> 200", st == 200)
    check("GET / body is the JSON string",
          json.loads(body) == "Welcome to OpenMPTCProuter Server part")
    check("content-type application/json, server uvicorn",
          h.get("content-type") == "application/json" and h.get("server") == "uvicorn")

    st, _, body = request(srv, "POST", "/token", "username=%s&password=%s" % (USER, PASSWORD), FORM)
    tok = json.loads(body) if st == 200 else {}
    check("POST /token (form) -> 200", st == 200)
    check("token_type bearer", tok.get("token_type") == "bearer")
    parts = tok.get("access_token", "").split(".")
    check("access_token is a 3-part JWT", len(parts) == 3)
    if len(parts) == 3:
        head, payload = json.loads(b64d(parts[0])), json.loads(b64d(parts[1]))
        check("JWT header alg HS256", head.get("alg") == "HS256")
        check("JWT sub = username, exp ~ now + 24 h",
              payload.get("sub") == USER and abs(payload.get("exp", 0) - time.time() - 86400) < 60)
    st, _, _ = post_token(srv, "grant_type=password&username=%s&password=%s&scope=&client_id=x"
                          % (USER, PASSWORD))
    check("POST /token with grant_type=password and extras -> 200", st == 200)
    st, _, _ = post_token(srv, "username=%s&password=%s" % (USER, "s3cret%2Dkey%5F42"))
    check("URL-encoded values are decoded -> 200", st == 200)

    st, _, body = request(srv, "POST", "/token", "username=%s&password=wrong" % USER, FORM)
    check("wrong password -> 400 Incorrect username or password",
          st == 400 and json.loads(body) == {"detail": "Incorrect username or password"})
    st, _, body = request(srv, "POST", "/token", "username=someone&password=%s" % PASSWORD, FORM)
    check("wrong username -> 400", st == 400)
    st, _, body = request(srv, "POST", "/token", "username=%s" % USER, FORM)
    d = json.loads(body).get("detail") if st == 422 else None
    check("missing password -> 422 naming body.password",
          st == 422 and isinstance(d, list) and d[0].get("loc") == ["body", "password"])
    st, _, _ = request(srv, "POST", "/token", "username=%s&password=" % USER, FORM)
    check("empty password -> 422", st == 422)
    st, _, _ = request(srv, "POST", "/token", json.dumps({"username": USER, "password": PASSWORD}),
                       {"Content-Type": "application/json"})
    check("JSON body -> 422", st == 422)
    st, _, _ = post_token(srv, "grant_type=foo&username=%s&password=%s" % (USER, PASSWORD))
    check("grant_type other than password -> 422", st == 422)
    st, _, _ = post_token(srv, "username=%s&password=%s" % (USER, urllib.parse.quote("pässword")))
    check("non-ASCII password -> 500 (omr-admin's compare_digest)", st == 500)
    boundary = "xYzZy"
    mp = ("--%s\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\n%s\r\n"
          "--%s\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n%s\r\n--%s--\r\n"
          % (boundary, USER, boundary, PASSWORD, boundary))
    st, _, _ = post_token(srv, mp, {"Content-Type": "multipart/form-data; boundary=" + boundary})
    check("multipart form (curl -F) -> 200", st == 200)

    token = get_token(srv)
    st, h, body = request(srv, "GET", "/status")
    check("GET /status without auth -> 403 Not authenticated",
          st == 403 and json.loads(body) == {"detail": "Not authenticated"})
    st, _, body = request(srv, "GET", "/status", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    check("Basic scheme -> 403 Not authenticated", st == 403 and b"Not authenticated" in body)
    st, h, body = request(srv, "GET", "/status", headers={"Authorization": "Bearer garbage"})
    check("bad token -> 403 Could not validate credentials + WWW-Authenticate: Bearer",
          st == 403 and json.loads(body) == {"detail": "Could not validate credentials"}
          and h.get("www-authenticate") == "Bearer")
    p = token.split(".")
    forged = json.dumps({"sub": USER, "exp": int(time.time()) + 999999}).encode()
    forged = p[0] + "." + base64.urlsafe_b64encode(forged).rstrip(b"=").decode() + "." + p[2]
    st, _, _ = request(srv, "GET", "/status", headers={"Authorization": "Bearer " + forged})
    check("a token with a changed payload -> 403", st == 403)
    st, _, body = request(srv, "GET", "/status", headers={"Authorization": "Bearer " + token})
    s = json.loads(body) if st == 200 else {}
    check("GET /status with the token -> 200", st == 200)
    check("/status has vps/network/shadowsocks/vpn/v2ray/xray/shadowsocks_go",
          all(k in s for k in ("vps", "network", "shadowsocks", "vpn", "v2ray", "xray",
                               "shadowsocks_go")))
    check("/status vps has time/loadavg/uptime/mptcp/hostname/kernel/omr_version",
          all(k in s.get("vps", {}) for k in ("time", "loadavg", "uptime", "mptcp", "hostname",
                                              "kernel", "omr_version")))
    cookie = {"Cookie": 'Authorization="Bearer %s"' % token}
    st, _, _ = request(srv, "GET", "/status", headers=cookie)
    check("cookie Authorization=Bearer ... -> 200", st == 200)

    st, _, body = request(srv, "GET", "/clienthost")
    check("GET /clienthost (no auth) v4 -> 127.0.0.1",
          st == 200 and json.loads(body) == {"client_host": "127.0.0.1"})
    st, _, body = request(srv, "GET", "/mptcpsupport")
    check("GET /mptcpsupport v4 -> working", st == 200 and json.loads(body) == {"mptcp": "working"})
    if v6:
        st, _, body = request(srv, "GET", "/clienthost", host="::1")
        check("GET /clienthost v6 -> ::1", json.loads(body) == {"client_host": "::1"})
        st, _, body = request(srv, "GET", "/mptcpsupport", host="::1")
        check("GET /mptcpsupport v6 -> null", json.loads(body) == {"mptcp": None})
    st, _, body = request(srv, "GET", "/nothing")
    check("unknown path -> 404 Not Found",
          st == 404 and json.loads(body) == {"detail": "Not Found"})
    st, _, body = request(srv, "POST", "/")
    check("wrong method -> 405 Method Not Allowed",
          st == 405 and json.loads(body) == {"detail": "Method Not Allowed"})
    st, _, _ = request(srv, "GET", "/config", headers={"Authorization": "Bearer " + token})
    check("GET /config with the token -> 200", st == 200)


def test_tls(srv):
    raw = socket.create_connection(("127.0.0.1", srv.port), 5)
    with client_ctx().wrap_socket(raw) as s:
        check("TLS 1.2 negotiated (%s)" % s.version(), s.version() == "TLSv1.2")
        check("uvicorn's 'TLSv1' cipher string: %s" % s.cipher()[0],
              s.cipher()[0] in ("ECDHE-ECDSA-AES256-SHA", "ECDHE-ECDSA-AES128-SHA"))
        check("no ALPN", s.selected_alpn_protocol() is None)
    c13 = client_ctx()
    c13.minimum_version = ssl.TLSVersion.TLSv1_3
    try:
        with c13.wrap_socket(socket.create_connection(("127.0.0.1", srv.port), 5)):
            ok = False
    except (ssl.SSLError, OSError):
        ok = True
    check("a TLS 1.3-only client is refused", ok)
    gcm = client_ctx()
    gcm.set_ciphers("ECDHE+AESGCM")
    gcm.maximum_version = ssl.TLSVersion.TLSv1_2
    try:
        with gcm.wrap_socket(socket.create_connection(("127.0.0.1", srv.port), 5)):
            ok = False
    except (ssl.SSLError, OSError):
        ok = True
    check("a client without CBC suites cannot connect (like the real VPS)", ok)
    st = subprocess.run(["curl", "-sS", "-o", "/dev/null", "http://127.0.0.1:%d/" % srv.port],
                        capture_output=True).returncode if have_curl() else 52
    check("plain HTTP on the port: empty reply (curl 52), got %d" % st, st == 52)


def have_curl():
    return subprocess.run(["sh", "-c", "command -v curl"], capture_output=True).returncode == 0


def test_keepalive_and_resumption(srv):
    srv.ctl_cmd("reset-stats")
    c = conn(srv)
    for path in ("/", "/clienthost", "/mptcpsupport", "/", "/nothing"):
        c.request("GET", path)
        c.getresponse().read()
    c.close()
    s = srv.stats()
    check("keep-alive: 5 requests on 1 connection (handshakes %s, keep-alive requests %s)"
          % (s.get("tls_handshakes"), s.get("keepalive_requests")),
          s.get("tls_handshakes") == 1 and s.get("keepalive_requests") == 4)
    check("stats count requests per path", s.get("requests", {}).get("/") == 2)

    # (tickets, the client sends close_notify, resumption expected): like OpenSSL servers, a
    # session ID is only kept when the connection ended with close_notify from the client.
    cases = ((True, False, True, "session ticket, abrupt close"),
             (False, True, True, "session ID, client sends close_notify"),
             (False, False, False, "session ID, abrupt close (OpenSSL drops it: documented)"))
    for tickets, polite, expect, what in cases:
        ctx = client_ctx(tickets)
        s1 = ctx.wrap_socket(socket.create_connection(("127.0.0.1", srv.port), 5))
        s1.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        while s1.recv(4096):
            pass
        sess = s1.session
        if polite:
            try:
                s1.unwrap()
            except (OSError, ssl.SSLError):
                pass
        s1.close()
        before = srv.stats().get("tls_resumed", 0)
        s2 = ctx.wrap_socket(socket.create_connection(("127.0.0.1", srv.port), 5), session=sess)
        reused = s2.session_reused
        s2.close()
        after = srv.stats().get("tls_resumed", 0)
        check("resumption by %s: client sees reuse %s, stats tls_resumed %d -> %d"
              % (what, reused, before, after), reused == expect and after == before + int(expect))


def test_idle_timeout(tmp):
    srv = Server(tmp, "idle", "127.0.0.1", ["--keepalive-timeout", "0.5", "--max-tls", "tls1.3"])
    try:
        c = conn(srv)
        c.request("GET", "/")
        c.getresponse().read()
        v = c.sock.version()
        check("--max-tls tls1.3 negotiates TLS 1.3 (%s)" % v, v == "TLSv1.3")
        t0 = time.monotonic()
        c.sock.settimeout(5)
        try:
            data = c.sock.recv(1)
        except OSError:
            data = b""
        dt = time.monotonic() - t0
        check("an idle keep-alive connection is closed after the idle timeout (%.2f s)" % dt,
              data == b"" and 0.3 < dt < 3)
        c.close()
    finally:
        srv.stop()


def test_dualstack(tmp):
    srv = Server(tmp, "dual", "::")
    try:
        st, _, body = request(srv, "GET", "/clienthost")
        check("dual-stack [::] listener: IPv4 peer seen as ::ffff:127.0.0.1 (%s)" % body.decode(),
              json.loads(body) == {"client_host": "::ffff:127.0.0.1"})
        st, _, body = request(srv, "GET", "/mptcpsupport")
        check("dual-stack: mptcpsupport for a mapped IPv4 peer -> working",
              json.loads(body) == {"mptcp": "working"})
    finally:
        srv.stop()


def expect_timeout(srv, desc):
    raw = socket.create_connection(("127.0.0.1", srv.port), 2)
    raw.settimeout(1.0)
    try:
        s = client_ctx().wrap_socket(raw)
        s.close()
        ok = False
    except (socket.timeout, TimeoutError):
        ok = True
    except (ssl.SSLError, OSError):
        ok = False
    raw.close()
    check(desc, ok)


def test_modes(srv, tmp):
    token = get_token(srv)
    auth = {"Authorization": "Bearer " + token}

    rc, ans = srv.ctl_cmd("status500")
    check("ctl status500: exit 0, ok", rc == 0 and ans.get("ok") and ans.get("mode") == "status500")
    codes = [request(srv, "GET", "/")[0], post_token(srv, "username=a&password=b")[0],
             request(srv, "GET", "/status", headers=auth)[0],
             request(srv, "GET", "/clienthost")[0]]
    check("status500: every route answers 500 (%s)" % codes, codes == [500] * 4)

    srv.ctl_cmd("badjson")
    bad = 0
    for m, p, b in (("GET", "/", None), ("POST", "/token", "username=a&password=b"),
                    ("GET", "/status", None)):
        st, _, body = request(srv, m, p, b, FORM if b else auth)
        try:
            json.loads(body)
        except ValueError:
            if st == 200:
                bad += 1
    check("badjson: 200 + invalid JSON on every route", bad == 3)

    srv.ctl_cmd("oversize")
    st, h, body = request(srv, "GET", "/clienthost")
    clen = int(h.get("content-length", 0))
    check("oversize: 200 and a %d-byte body (content-length %d)" % (len(body), clen),
          st == 200 and len(body) >= 4 << 20 and clen == len(body))
    srv.ctl_cmd("oversize", "1000")
    st, _, body = request(srv, "GET", "/")
    check("oversize 1000: exactly 1000 bytes", len(body) == 1000)

    # a kept-alive connection made before a hang fault must hang too
    keep = conn(srv)
    srv.ctl_cmd("normal")
    keep.request("GET", "/")
    keep.getresponse().read()

    rc, _ = srv.ctl_cmd("refuse")
    try:
        socket.create_connection(("127.0.0.1", srv.port), 2).close()
        refused = False
    except ConnectionRefusedError:
        refused = True
    check("refuse: connection refused", rc == 0 and refused)
    try:
        keep.request("GET", "/")
        keep.getresponse().read()
        dropped = False
    except (OSError, http.client.HTTPException):
        dropped = True
    check("refuse: existing keep-alive connections are dropped", dropped)
    keep.close()

    srv.ctl_cmd("normal")
    check("normal after refuse: listening again", request(srv, "GET", "/")[0] == 200)
    keep = conn(srv)
    keep.request("GET", "/")
    keep.getresponse().read()

    srv.ctl_cmd("reset-stats")
    srv.ctl_cmd("hang-accept")
    expect_timeout(srv, "hang-accept: TCP accepted, TLS handshake never answered")
    s = srv.stats()
    check("hang-accept: stats connections 1, handshakes 0",
          s.get("connections") == 1 and s.get("tls_handshakes") == 0)
    keep.sock.settimeout(1.0)
    keep.request("GET", "/")
    try:
        keep.getresponse().read()
        hung = False
    except (socket.timeout, TimeoutError):
        hung = True
    check("hang-accept: a request on a kept-alive connection gets no answer", hung)
    keep.close()

    srv.ctl_cmd("hang-handshake")
    expect_timeout(srv, "hang-handshake: ClientHello read, never answered")
    check("hang-handshake: stats count the hung connections", srv.stats().get("hung", 0) >= 3)

    # a hung connection is closed when the fault ends
    raw = socket.create_connection(("127.0.0.1", srv.port), 2)
    raw.sendall(b"\x16\x03\x01\x00\x05hello")
    srv.ctl_cmd("normal")
    raw.settimeout(3)
    try:
        data = raw.recv(100)
    except OSError:
        data = b""
    check("normal: hung connections are closed", data == b"")
    raw.close()
    check("normal: answers again", request(srv, "GET", "/")[0] == 200)

    # cert
    other_c, other_k = os.path.join(tmp, "other.pem"), os.path.join(tmp, "other.key")
    make_cert(other_c, other_k, "other.test")

    def served_cert():
        with client_ctx().wrap_socket(socket.create_connection(("127.0.0.1", srv.port), 5)) as s:
            return hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()

    before = served_cert()
    rc, ans = srv.ctl_cmd("cert", other_c, other_k)
    after = served_cert()
    want = subprocess.run(["openssl", "x509", "-in", other_c, "-outform", "DER"],
                          capture_output=True).stdout
    check("cert: the new certificate is served from now on",
          rc == 0 and before != after and after == hashlib.sha256(want).hexdigest())
    rc, ans = srv.ctl_cmd("cert", "/nonexistent.pem", other_k)
    check("cert with a missing file: exit 1, ok false, old cert kept",
          rc == 1 and ans.get("ok") is False and served_cert() == after)

    # restart: all tokens invalid, connections dropped
    keep = conn(srv)
    keep.request("GET", "/")
    keep.getresponse().read()
    st, _, _ = request(srv, "GET", "/status", headers=auth)
    check("before restart: token valid", st == 200)
    rc, ans = srv.ctl_cmd("restart")
    check("ctl restart: ok", rc == 0 and ans.get("ok"))
    st, h, body = request(srv, "GET", "/status", headers=auth)
    check("after restart: old token -> 403 Could not validate credentials",
          st == 403 and b"Could not validate credentials" in body
          and h.get("www-authenticate") == "Bearer")
    try:
        keep.request("GET", "/")
        keep.getresponse().read()
        dropped = False
    except (OSError, http.client.HTTPException):
        dropped = True
    check("after restart: kept-alive connections were dropped", dropped)
    keep.close()
    t2 = get_token(srv)
    check("after restart: a new token works",
          t2 and request(srv, "GET", "/status", headers={"Authorization": "Bearer " + t2})[0]
          == 200)
    s = srv.stats()
    check("stats: restarts 1, tokens_issued >= 1, last_client 127.0.0.1",
          s.get("restarts") == 1 and s.get("tokens_issued", 0) >= 1
          and s.get("last_client") == "127.0.0.1")
    rc, _ = srv.ctl_cmd("reset-stats")
    s = srv.stats()
    check("reset-stats zeroes the counters",
          rc == 0 and s.get("connections") == 0 and s.get("requests") == {})
    rc, ans = srv.ctl_cmd("frobnicate")
    check("unknown ctl command: exit 1, ok false", rc == 1 and ans.get("ok") is False)
    r = subprocess.run([PY, FAKEVPS, "ctl", os.path.join(tmp, "nope.ctl"), "stats"],
                       capture_output=True)
    check("ctl on a missing socket: exit 2", r.returncode == 2)


def test_robustness(srv):
    for payload in (os.urandom(3000), b"\x16\x03\x01\x02\x00\x01", b""):  # garbage, half hello
        try:
            s = socket.create_connection(("127.0.0.1", srv.port), 2)
            s.sendall(payload)
            s.close()
        except OSError:
            pass
    s = client_ctx().wrap_socket(socket.create_connection(("127.0.0.1", srv.port), 5))
    s.sendall(b"GET / HTTP/1.1\r\n" + b"X-Big: " + b"a" * 70000 + b"\r\n\r\n")
    try:
        s.recv(100)
    except OSError:
        pass
    s.close()
    s = client_ctx().wrap_socket(socket.create_connection(("127.0.0.1", srv.port), 5))
    s.sendall(b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\nabc")
    try:
        resp = s.recv(100)
    except OSError:
        resp = b""
    s.close()
    check("a huge Content-Length -> 413", resp.startswith(b"HTTP/1.1 413"))
    check("after bad clients the server still answers", request(srv, "GET", "/")[0] == 200)


def main():
    if not os.path.exists(PY):
        print("SKIP: no python3")
        return 77
    v6 = have_ipv6()
    with tempfile.TemporaryDirectory(prefix="fakevps-test-") as tmp:
        if not make_cert(os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem"), "vps.test"):
            print("SKIP: openssl cannot make a certificate")
            return 77
        srv = Server(tmp, "main", "127.0.0.1,::1" if v6 else "127.0.0.1")
        try:
            test_routes(srv, v6)
            test_tls(srv)
            test_keepalive_and_resumption(srv)
            test_modes(srv, tmp)
            test_robustness(srv)
            if v6:
                test_dualstack(tmp)
            test_idle_timeout(tmp)
        finally:
            srv.stop()
        check("SIGTERM: exit status 0", srv.proc.returncode == 0)
        check("SIGTERM: pid file and control socket removed",
              not os.path.exists(srv.pidfile) and not os.path.exists(srv.ctl))
        with open(srv.log) as f:
            log = f.read()
        check("the log has requests but never the password", "GET /" in log and PASSWORD not in log
              and urllib.parse.quote(PASSWORD) not in log)
        check("the log never has a token", "eyJ" not in log)
    print("%d checks, %d failed" % (checks, fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
