#!/usr/bin/python3
"""fakevps.py: a stand-in for the OpenMPTCProuter VPS admin API (omr-admin.py).

It follows the contract of reference omr-tracker.md section 5.6: TLS 1.2 only with
uvicorn's default cipher string, HTTP/1.1 keep-alive (5 s idle like uvicorn), session
tickets and session-ID resumption, and the routes / status codes / JSON bodies of
FastAPI. On command (control socket) it misbehaves, for fault tests.

  fakevps.py serve --bind ADDR[,ADDR...] --port PORT --cert PEM --key PEM
                   [--username U] [--password P | --password-file F]
                   [--control SOCKPATH] [--pidfile F] [--log F]
                   [--max-tls tls1.2|tls1.3] [--ciphers STR] [--keepalive-timeout S]
  fakevps.py ctl SOCKPATH COMMAND [ARGS]

Python standard library only.
"""

import argparse
import base64
import email.parser
import email.policy
import hashlib
import hmac
import http.server
import json
import os
import re
import secrets
import selectors
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse

WELCOME = "Welcome to OpenMPTCProuter Server part"
TOKEN_LIFETIME_S = 24 * 3600  # omr-admin: ACCESS_TOKEN_EXPIRE_MINUTES = 1440
MAX_BODY = 1 << 20  # request bodies above this get 413 (the API never needs more)
MAX_CONNECTIONS = 512  # beyond this, new connections are closed at once
HANDSHAKE_TIMEOUT_S = 20.0
HANG_LIMIT_S = 600.0  # a hung connection is closed after this, whatever the mode
OVERSIZE_DEFAULT = 8 << 20

MODES = ("normal", "refuse", "hang-accept", "hang-handshake", "status500", "badjson", "oversize")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    pad = "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(text + pad)


def jdump(obj):
    """FastAPI's JSONResponse rendering: compact, UTF-8."""
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


class Log:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.out = open(path, "a", buffering=1) if path else sys.stderr

    def __call__(self, fmt, *args):
        line = time.strftime("%H:%M:%S ") + (fmt % args if args else fmt)
        with self.lock:
            try:
                self.out.write(line + "\n")
                self.out.flush()
            except (OSError, ValueError):
                pass


class Stats:
    FIELDS = ("connections", "tls_handshakes", "tls_resumed", "tls_failed", "hung",
              "requests_total", "keepalive_requests", "tokens_issued", "token_rejected",
              "auth_ok", "auth_failed", "restarts")

    def __init__(self):
        self.reset()

    def reset(self):
        for f in self.FIELDS:
            setattr(self, f, 0)
        self.requests = {}
        self.last_client = None
        self.last_tls_version = None
        self.last_cipher = None

    def as_dict(self):
        d = {f: getattr(self, f) for f in self.FIELDS}
        d["requests"] = dict(self.requests)
        d["last_client"] = self.last_client
        d["last_tls_version"] = self.last_tls_version
        d["last_cipher"] = self.last_cipher
        return d


class Server:
    """All shared state. |lock| guards every field; |cond| wakes hung connections."""

    def __init__(self, args, log):
        self.args = args
        self.log = log
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.mode = "normal"
        self.oversize_bytes = OVERSIZE_DEFAULT
        self.generation = 0  # bumped by restart/refuse: connections of older ones are dropped
        self.secret = secrets.token_hex(16)  # omr-admin: SECRET_KEY = uuid4().hex per start
        self.stats = Stats()
        self.conns = set()  # live sockets (plain or TLS), for dropping them
        self.cert = (os.path.abspath(args.cert), os.path.abspath(args.key))
        self.ctx = self.make_ctx(*self.cert)
        self.password = args.password
        self.listeners = []
        self.sel = selectors.DefaultSelector()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        self.sel.register(self.wake_r, selectors.EVENT_READ, None)
        self.pending = []  # callables the acceptor thread runs (listener changes)
        self.stopping = False

    # --- TLS -------------------------------------------------------------------------
    def make_ctx(self, cert, key):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.maximum_version = (ssl.TLSVersion.TLSv1_3 if self.args.max_tls == "tls1.3"
                               else ssl.TLSVersion.TLSv1_2)
        # uvicorn's default ssl_ciphers is "TLSv1": only the CBC/SHA-1 ECDHE suites survive
        # OpenSSL's security level, as observed on a real VPS.
        ctx.set_ciphers(self.args.ciphers)
        ctx.load_cert_chain(cert, key)
        # Session-ID resumption needs a context id; tickets are on by default.
        try:
            ctx.set_ecdh_curve("prime256v1")
        except (ValueError, ssl.SSLError):
            pass
        return ctx

    # --- listeners (only ever touched by the acceptor thread) -------------------------
    def open_listeners(self):
        if self.listeners:
            return None
        opened = []
        try:
            for addr in self.args.bind:
                fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
                s = socket.socket(fam, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if fam == socket.AF_INET6:
                    # "::" is dual-stack like uvicorn --host "::" (IPv4 peers as ::ffff:a.b.c.d)
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if addr == "::" else 1)
                opened.append(s)
                s.bind((addr, self.args.port))
                s.listen(128)
                s.setblocking(False)
        except OSError as e:
            for s in opened:
                s.close()
            return "bind %s port %d: %s" % (addr, self.args.port, e.strerror or e)
        for s in opened:
            self.sel.register(s, selectors.EVENT_READ, "listen")
        self.listeners = opened
        return None

    def close_listeners(self):
        for s in self.listeners:
            try:
                self.sel.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()
        self.listeners = []
        return None

    def in_acceptor(self, fn):
        """Runs fn in the acceptor thread and returns its result (an error string or None)."""
        done = threading.Event()
        box = []

        def job():
            try:
                box.append(fn())
            except Exception as e:  # noqa: BLE001 - report, never kill the server
                box.append("internal error: %r" % e)
            done.set()

        with self.lock:
            self.pending.append(job)
        self.wake()
        if not done.wait(10):
            return "acceptor did not answer"
        return box[0]

    def wake(self):
        try:
            os.write(self.wake_w, b"x")
        except OSError:
            pass

    def drop_connections(self):
        """Shuts every live connection down (their threads then exit). Lock held by caller."""
        self.generation += 1
        for c in list(self.conns):
            try:
                # The plain socket's shutdown, also for SSLSocket: unblocks the reader without
                # touching the SSL object another thread is using.
                socket.socket.shutdown(c, socket.SHUT_RDWR)
            except OSError:
                pass
        self.cond.notify_all()

    def run(self):
        while not self.stopping:
            for key, _ in self.sel.select():
                if key.data is None:
                    try:
                        while os.read(self.wake_r, 512):
                            pass
                    except BlockingIOError:
                        pass
                    with self.lock:
                        jobs, self.pending = self.pending, []
                    for job in jobs:
                        job()
                    continue
                try:
                    conn, peer = key.fileobj.accept()
                except OSError:
                    continue  # EAGAIN, ECONNABORTED, EMFILE: nothing to do now
                self.on_accept(conn, peer)
        self.close_listeners()

    def on_accept(self, conn, peer):
        conn.setblocking(True)
        with self.lock:
            self.stats.connections += 1
            self.stats.last_client = peer[0]
            if len(self.conns) >= MAX_CONNECTIONS:
                conn.close()
                return
            self.conns.add(conn)
            gen = self.generation
        t = threading.Thread(target=self.serve_conn, args=(conn, peer, gen), daemon=True)
        try:
            t.start()
        except RuntimeError:
            self.forget(conn)
            conn.close()

    def forget(self, sock):
        with self.lock:
            self.conns.discard(sock)

    def hang(self, mode, gen):
        """Blocks while |mode| is active and the connection's generation is current."""
        with self.lock:
            self.stats.hung += 1
            self.cond.wait_for(lambda: self.mode != mode or self.generation != gen or self.stopping,
                               HANG_LIMIT_S)

    # --- one connection ---------------------------------------------------------------
    def serve_conn(self, conn, peer, gen):
        tls = None
        try:
            with self.lock:
                mode = self.mode
                ctx = self.ctx
            if mode == "hang-accept":
                self.hang(mode, gen)
                return
            if mode == "hang-handshake":
                conn.settimeout(HANDSHAKE_TIMEOUT_S)
                try:
                    conn.recv(16384)  # the ClientHello; never answered
                except OSError:
                    return
                self.hang(mode, gen)
                return
            conn.settimeout(HANDSHAKE_TIMEOUT_S)
            with self.lock:
                tls = ctx.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
                self.conns.discard(conn)
                self.conns.add(tls)
            try:
                tls.do_handshake()
            except (OSError, ssl.SSLError, ValueError) as e:
                with self.lock:
                    self.stats.tls_failed += 1
                self.log("%s tls handshake failed: %s", peer[0], getattr(e, "reason", None) or e)
                self.linger_close(tls)
                tls = None
                return
            with self.lock:
                if self.generation != gen:
                    return
                self.stats.tls_handshakes += 1
                if tls.session_reused:
                    self.stats.tls_resumed += 1
                self.stats.last_tls_version = tls.version()
                c = tls.cipher()
                self.stats.last_cipher = c[0] if c else None
            tls.settimeout(self.args.keepalive_timeout)
            Handler(tls, peer, self, gen)
        except Exception as e:  # noqa: BLE001 - a bad client must never kill the server
            self.log("%s connection error: %r", peer[0], e)
        finally:
            self.forget(conn)
            if tls is not None:
                self.forget(tls)
                try:
                    # Our close_notify marks the session as cleanly ended: OpenSSL drops from its
                    # session-ID cache the sessions of connections freed without one. (A client
                    # that closes without its own close_notify still loses its session ID:
                    # OpenSSL 3 treats that EOF as fatal. Tickets are not affected.)
                    tls.settimeout(0.5)
                    tls.unwrap()
                except (OSError, ValueError, ssl.SSLError):
                    pass
                try:
                    tls.close()
                except OSError:
                    pass
            try:
                conn.close()
            except OSError:
                pass

    @staticmethod
    def linger_close(sock):
        """FIN instead of RST after a failed handshake (plain HTTP gets an empty reply)."""
        try:
            socket.socket.shutdown(sock, socket.SHUT_WR)
            sock.settimeout(0.2)
            while socket.socket.recv(sock, 4096):
                pass
        except (OSError, ValueError):
            pass
        try:
            sock.close()
        except OSError:
            pass

    # --- tokens (JWT HS256, like python-jose in omr-admin) ----------------------------
    def issue_token(self, username):
        header = b64url(jdump({"alg": "HS256", "typ": "JWT"}))
        payload = b64url(jdump({"sub": username, "exp": int(time.time()) + TOKEN_LIFETIME_S}))
        with self.lock:
            key = self.secret.encode()
            self.stats.tokens_issued += 1
        sig = hmac.new(key, (header + "." + payload).encode(), hashlib.sha256).digest()
        return header + "." + payload + "." + b64url(sig)

    def check_token(self, token):
        with self.lock:
            key = self.secret.encode()
        parts = token.split(".")
        if len(parts) != 3:
            return False
        try:
            sig = b64url_decode(parts[2])
            head = json.loads(b64url_decode(parts[0]))
            payload = json.loads(b64url_decode(parts[1]))
        except (ValueError, UnicodeDecodeError):
            return False
        want = hmac.new(key, (parts[0] + "." + parts[1]).encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(sig, want):
            return False
        if not isinstance(head, dict) or not isinstance(payload, dict):
            return False
        if head.get("alg") != "HS256":
            return False
        exp = payload.get("exp")
        if not isinstance(exp, (int, float)) or exp < time.time():
            return False
        return payload.get("sub") == self.args.username

    # --- control ----------------------------------------------------------------------
    def control(self, argv):
        if not argv:
            return {"ok": False, "error": "empty command"}
        cmd, rest = argv[0], argv[1:]
        if cmd in MODES:
            return self.set_mode(cmd, rest)
        if cmd == "cert":
            if len(rest) != 2:
                return {"ok": False, "error": "usage: cert CERTPEM KEYPEM"}
            try:
                ctx = self.make_ctx(rest[0], rest[1])
            except (OSError, ssl.SSLError, ValueError) as e:
                return {"ok": False, "error": "cannot load certificate: %s" % e}
            with self.lock:
                self.ctx = ctx
                self.cert = (rest[0], rest[1])
            self.log("control: serving certificate %s", rest[0])
            return {"ok": True, "cert": rest[0]}
        if cmd == "restart":
            return self.restart()
        if cmd == "stats":
            with self.lock:
                d = self.stats.as_dict()
                d["open_connections"] = len(self.conns)
                d["mode"] = self.mode
                ss = self.ctx.session_stats()
                d["session_cache"] = {k: ss[k] for k in ("number", "hits", "misses")}
            d["ok"] = True
            return d
        if cmd == "reset-stats":
            with self.lock:
                self.stats.reset()
            return {"ok": True}
        if cmd in ("mode", "ping"):
            with self.lock:
                return {"ok": True, "mode": self.mode, "cert": self.cert[0]}
        return {"ok": False, "error": "unknown command %r" % cmd}

    def set_mode(self, mode, rest):
        size = OVERSIZE_DEFAULT
        if mode == "oversize" and rest:
            try:
                size = int(rest[0])
            except ValueError:
                return {"ok": False, "error": "oversize: BYTES must be an integer"}
            if not 0 < size <= 256 << 20:
                return {"ok": False, "error": "oversize: BYTES must be 1..268435456"}
        elif rest:
            return {"ok": False, "error": "%s takes no argument" % mode}
        with self.lock:
            old = self.mode
            self.mode = mode
            self.oversize_bytes = size
            if mode == "refuse":
                self.drop_connections()
            self.cond.notify_all()
        err = None
        if mode == "refuse":
            err = self.in_acceptor(self.close_listeners)
        elif old == "refuse":
            err = self.in_acceptor(self.open_listeners)
        self.log("control: mode %s -> %s", old, mode)
        if err:
            return {"ok": False, "error": err, "mode": mode}
        return {"ok": True, "mode": mode}

    def restart(self):
        """Like restarting omr-admin: connections gone, new secret, new TLS keys, listen again."""
        with self.lock:
            self.secret = secrets.token_hex(16)
            self.mode = "normal"
            self.stats.restarts += 1
            self.drop_connections()
            cert = self.cert
        try:
            ctx = self.make_ctx(*cert)  # fresh session cache and ticket keys
        except (OSError, ssl.SSLError, ValueError) as e:
            return {"ok": False, "error": "cannot load certificate: %s" % e}
        with self.lock:
            self.ctx = ctx
        err = self.in_acceptor(lambda: self.close_listeners() or self.open_listeners())
        self.log("control: restarted (all tokens invalid)")
        if err:
            return {"ok": False, "error": err}
        return {"ok": True, "mode": "normal"}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "uvicorn"
    sys_version = ""
    error_content_type = "application/json"

    def __init__(self, sock, peer, srv, gen):
        self.srv = srv
        self.gen = gen
        self.count = 0
        self.timeout = srv.args.keepalive_timeout
        super().__init__(sock, peer, srv)

    def version_string(self):
        return "uvicorn"

    def log_message(self, fmt, *args):
        self.srv.log("%s %s", self.client_address[0], fmt % args)

    def log_request(self, code="-", size="-"):
        code = getattr(code, "value", code)
        # The path only: never a query string with secrets, never a body or header.
        path = urllib.parse.urlsplit(getattr(self, "path", "") or "").path
        self.srv.log("%s %s %s -> %s (%s bytes)", self.client_address[0], self.command, path, code,
                     size)

    def log_error(self, fmt, *args):
        if "timed out" not in fmt:  # an idle keep-alive connection ending is not news
            self.log_message(fmt, *args)

    def send_error(self, code, message=None, explain=None):
        # http.server's own parse errors (bad request line, huge headers): uvicorn answers
        # these with a plain-text status and closes.
        body = (message or "Bad Request").encode()
        try:
            self.send_response_only(code)
            self.send_header("content-type", "text/plain; charset=utf-8")
            self.send_header("content-length", str(len(body)))
            self.send_header("connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except OSError:
            pass
        self.close_connection = True

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (OSError, ssl.SSLError, ValueError):
            self.close_connection = True

    # http.server dispatches on do_<METHOD>; everything goes through one function.
    def __getattr__(self, name):
        if name.startswith("do_"):
            return self.dispatch
        raise AttributeError(name)

    def reply(self, code, body, ctype="application/json", headers=()):
        # uvicorn's header names and order: date, server, content-length, content-type
        self.send_response_only(code, None)
        self.send_header("date", self.date_time_string())
        self.send_header("server", "uvicorn")
        self.send_header("content-length", str(len(body)))
        self.send_header("content-type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.log_request(code, len(body))

    def read_body(self):
        te = self.headers.get("transfer-encoding", "").lower()
        if "chunked" in te:
            data = b""
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    raise ValueError("truncated chunked body")
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                if len(data) + n > MAX_BODY:
                    raise OverflowError
                data += self.rfile.read(n)
                self.rfile.readline(8)
        n = self.headers.get("content-length")
        if n is None:
            return b""
        n = int(n)
        if n < 0:
            raise ValueError("negative content-length")
        if n > MAX_BODY:
            raise OverflowError
        data = self.rfile.read(n)
        if len(data) != n:
            raise ValueError("truncated body")
        return data

    def dispatch(self):
        srv = self.srv
        self.count += 1
        path = urllib.parse.urlsplit(self.path).path
        with srv.lock:
            srv.stats.requests_total += 1
            if self.count > 1:
                srv.stats.keepalive_requests += 1
            key = path if len(srv.stats.requests) < 64 or path in srv.stats.requests else "(other)"
            srv.stats.requests[key] = srv.stats.requests.get(key, 0) + 1
            srv.stats.last_client = self.client_address[0]
            mode = srv.mode
            gen = srv.generation
            size = srv.oversize_bytes
        if gen != self.gen:
            self.close_connection = True
            return
        try:
            body = self.read_body()
        except OverflowError:
            self.close_connection = True
            return self.reply(413, jdump({"detail": "Request Entity Too Large"}),
                              headers=[("connection", "close")])
        except ValueError:
            self.close_connection = True
            return self.reply(400, b"Invalid HTTP request received.", "text/plain; charset=utf-8",
                              headers=[("connection", "close")])
        if mode in ("hang-accept", "hang-handshake"):
            # The server is stuck: requests on kept-alive connections get no answer either.
            srv.hang(mode, self.gen)
            self.close_connection = True
            return
        if mode == "status500":
            return self.reply(500, b"Internal Server Error", "text/plain; charset=utf-8")
        if mode == "badjson":
            return self.reply(200, b'{"detail": "truncated', "application/json")
        if mode == "oversize":
            body = b'{"detail":"' + b"x" * (size - 13) + b'"}' if size >= 13 else b"x" * size
            return self.reply(200, body, "application/json")
        return self.route(path, body)

    def route(self, path, body):
        m = self.command
        routes = {
            "/": ("GET", self.r_root),
            "/token": ("POST", self.r_token),
            "/status": ("GET", self.r_status),
            "/clienthost": ("GET", self.r_clienthost),
            "/mptcpsupport": ("GET", self.r_mptcpsupport),
            "/config": ("GET", self.r_config),
        }
        if path not in routes:
            return self.reply(404, jdump({"detail": "Not Found"}))
        want, fn = routes[path]
        if m != want:
            return self.reply(405, jdump({"detail": "Method Not Allowed"}),
                              headers=[("allow", want)])
        return fn(body)

    def r_root(self, _body):
        self.reply(200, jdump(WELCOME))

    def r_clienthost(self, _body):
        self.reply(200, jdump({"client_host": self.client_address[0]}))

    def r_mptcpsupport(self, _body):
        host = self.client_address[0]
        v4 = "." in host  # a.b.c.d or ::ffff:a.b.c.d; omr-admin answers null for IPv6 peers
        self.reply(200, jdump({"mptcp": "working" if v4 else None}))

    def r_token(self, body):
        ctype = self.headers.get("content-type", "").split(";")[0].strip().lower()
        form = {}
        if ctype == "application/x-www-form-urlencoded":
            # Starlette: the body as latin-1, %XX sequences as UTF-8
            form = urllib.parse.parse_qs(body.decode("latin-1"), keep_blank_values=True,
                                         encoding="utf-8", errors="replace")
        elif ctype == "multipart/form-data":
            form = parse_multipart(self.headers.get("content-type", ""), body)
        missing = [f for f in ("username", "password") if not form.get(f, [""])[-1]]
        gt = form.get("grant_type", [""])[-1]
        if missing or (gt and not re.match("password", gt)):
            det = [{"loc": ["body", f], "msg": "field required", "type": "value_error.missing"}
                   for f in missing]
            if gt and not re.match("password", gt):
                det.append({"loc": ["body", "grant_type"],
                            "msg": 'string does not match regex "password"',
                            "type": "value_error.str.regex", "ctx": {"pattern": "password"}})
            return self.reply(422, jdump({"detail": det}))
        user = form["username"][-1]
        pw = form["password"][-1]
        if user != self.srv.args.username:
            return self.bad_login()
        try:
            ok = secrets.compare_digest(pw, self.srv.password)
        except TypeError:
            # secrets.compare_digest on non-ASCII str raises: omr-admin answers 500
            return self.reply(500, b"Internal Server Error", "text/plain; charset=utf-8")
        if not ok:
            return self.bad_login()
        token = self.srv.issue_token(user)
        self.reply(200, jdump({"access_token": token, "token_type": "bearer"}))

    def bad_login(self):
        with self.srv.lock:
            self.srv.stats.auth_failed += 1
        self.reply(400, jdump({"detail": "Incorrect username or password"}))

    def authorized(self):
        """omr-admin's OAuth2PasswordBearerCookie: header first, then cookie Authorization."""
        token = None
        scheme, _, param = self.headers.get("authorization", "").strip().partition(" ")
        if scheme.lower() == "bearer" and param.strip():
            token = param.strip()
        else:
            for part in self.headers.get("cookie", "").split(";"):
                k, _, v = part.strip().partition("=")
                if k == "Authorization":
                    s2, _, p2 = v.strip().strip('"').partition(" ")
                    if s2.lower() == "bearer" and p2.strip():
                        token = p2.strip()
        if token is None:
            self.reply(403, jdump({"detail": "Not authenticated"}))
            return False
        if not self.srv.check_token(token):
            with self.srv.lock:
                self.srv.stats.token_rejected += 1
            self.reply(403, jdump({"detail": "Could not validate credentials"}),
                       headers=[("www-authenticate", "Bearer")])
            return False
        with self.srv.lock:
            self.srv.stats.auth_ok += 1
        return True

    def r_status(self, _body):
        if not self.authorized():
            return
        try:
            load = " ".join(open("/proc/loadavg").read().split()[:3])
            uptime = open("/proc/uptime").read().split()[0].split(".")[0]
        except OSError:
            load, uptime = "0.00 0.00 0.00", "0"
        un = os.uname()
        self.reply(200, jdump({
            "vps": {"time": time.time(), "loadavg": load, "uptime": uptime, "mptcp": "1",
                    "hostname": "fakevps", "kernel": un.release, "omr_version": "0.1031-lab"},
            "network": {"tx": "0", "rx": "0"},
            "shadowsocks": {"traffic": 0},
            "vpn": {"tx": "0", "rx": "0"},
            "v2ray": {"tx": 0, "rx": 0},
            "xray": {"tx": 0, "rx": 0},
            "shadowsocks_go": {"tx": 0, "rx": 0},
        }))

    def r_config(self, _body):
        if not self.authorized():
            return
        self.reply(200, jdump({"vps": {"kernel": os.uname().release, "omr_version": "0.1031-lab"},
                               "shadowsocks": {"port": 65101}, "glorytun": {"port": 65001}}))


def parse_multipart(ctype_header, body):
    """curl -F style bodies: {name: [value]} of the text parts; {} when unparsable."""
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype_header.encode("latin-1", "replace") + b"\r\n\r\n" + body)
    form = {}
    if not msg.is_multipart():
        return form
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            payload = part.get_payload(decode=True) or b""
            form.setdefault(name, []).append(payload.decode("utf-8", "replace"))
    return form


def control_loop(srv, path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    os.chmod(path, 0o600)
    ls.listen(8)

    def loop():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            try:
                c.settimeout(5)
                buf = b""
                while not buf.endswith(b"\n") and len(buf) < 65536:
                    chunk = c.recv(4096)
                    if not chunk:
                        break
                    buf += chunk
                try:
                    argv = json.loads(buf.decode())
                    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
                        raise ValueError
                    ans = srv.control(argv)
                except ValueError:
                    ans = {"ok": False, "error": "expected a JSON array of strings"}
                c.sendall(json.dumps(ans, separators=(",", ":")).encode() + b"\n")
            except Exception as e:  # noqa: BLE001
                srv.log("control error: %r", e)
            finally:
                c.close()

    threading.Thread(target=loop, daemon=True).start()
    return ls


def cmd_serve(a):
    if a.password_file:
        with open(a.password_file) as f:
            a.password = f.readline().rstrip("\n")
    if a.password is None:
        a.password = "openmptcprouter"
    a.bind = [x.strip().strip("[]") for x in a.bind.split(",") if x.strip()]
    log = Log(a.log)
    srv = Server(a, log)
    ctl = control_loop(srv, a.control) if a.control else None

    def on_term(_sig, _frm):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    try:
        err = srv.open_listeners()
        if err:
            log("fakevps: %s", err)
            return 1
        if a.pidfile:
            tmp = a.pidfile + ".tmp"
            with open(tmp, "w") as f:
                f.write("%d\n" % os.getpid())
            os.rename(tmp, a.pidfile)
        log("fakevps: listening on %s port %d (max %s, ciphers %s)", ",".join(a.bind), a.port,
            a.max_tls, a.ciphers)
        srv.run()
    finally:
        srv.stopping = True
        if ctl:
            ctl.close()
            try:
                os.unlink(a.control)
            except OSError:
                pass
        if a.pidfile:
            try:
                os.unlink(a.pidfile)
            except OSError:
                pass
    return 0


def cmd_ctl(a):
    argv = [a.command] + a.args
    if a.command == "cert":
        argv = [a.command] + [os.path.abspath(p) for p in a.args]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(15)
    try:
        s.connect(a.sock)
        s.sendall(json.dumps(argv).encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except OSError as e:
        print("fakevps ctl: %s: %s" % (a.sock, e), file=sys.stderr)
        return 2
    line = buf.decode(errors="replace").strip()
    print(line)
    try:
        return 0 if json.loads(line).get("ok") else 1
    except ValueError:
        return 2


def main():
    p = argparse.ArgumentParser(prog="fakevps.py", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="sub", required=True)
    s = sub.add_parser("serve", help="run the fake VPS API")
    s.add_argument("--bind", required=True, help="ADDR[,ADDR...] (v4 and/or v6; :: is dual-stack)")
    s.add_argument("--port", type=int, default=65500)
    s.add_argument("--cert", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--username", default="openmptcprouter")
    s.add_argument("--password", default=None)
    s.add_argument("--password-file", default=None, help="first line is the password (not in ps)")
    s.add_argument("--control", default=None, help="unix socket for 'ctl'")
    s.add_argument("--pidfile", default=None, help="written once listening")
    s.add_argument("--log", default=None, help="request log file (default stderr)")
    s.add_argument("--max-tls", choices=("tls1.2", "tls1.3"), default="tls1.2")
    s.add_argument("--ciphers", default="TLSv1", help="OpenSSL cipher string (uvicorn: TLSv1)")
    s.add_argument("--keepalive-timeout", type=float, default=5.0, help="idle seconds (uvicorn: 5)")
    c = sub.add_parser("ctl", help="send a command to a running server")
    c.add_argument("sock")
    c.add_argument("command", help="|".join(MODES) + "|cert C K|restart|stats|reset-stats|mode")
    c.add_argument("args", nargs="*")
    a = p.parse_args()
    if a.sub == "serve":
        return cmd_serve(a)
    return cmd_ctl(a)


if __name__ == "__main__":
    sys.exit(main())
