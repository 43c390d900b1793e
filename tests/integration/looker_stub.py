"""A stand-in Looker for the download_url path of the integration tests.

Python stdlib only. Binds 127.0.0.1 port 0 and serves each registered result once, at a
one-time URL, as Looker's download_url does; a second GET of the same URL gets 404.

    looker = LookerStub().start()
    url = looker.add(b'{"fields": ..., "data": [...]}')            # 200, Content-Length
    url = looker.add(body, chunked=True, chunk_size=1000)            # chunked transfer encoding
    url = looker.add(b"", status=500, delay=0.5)                     # answer 500 after 0.5 s
    url = looker.add(body, truncate_at=100)                          # promise all, send 100 bytes, close
    url = looker.add(prefix, endless=True, interval=0.1)              # prefix, then a space forever
    looker.wait_streaming(url); looker.wait_closed(url, timeout=5)    # the client connected / went away
    looker.hits(url)                                                 # how many GETs it saw
    looker.requests()                                                # (path, headers) of every request
    looker.stop()

With ``LookerStub(tls=(cert_file, key_file))`` it serves HTTPS (URLs use the host name given
as ``host_name``) and records the TLS server names (SNI) the clients asked for.
"""

import secrets
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["LookerStub"]


class _Entry:
    def __init__(self, body, status, chunked, chunk_size, delay, truncate_at, content_type, endless=False,
                 interval=0.1):
        self.body = body
        self.status = status
        self.chunked = chunked
        self.chunk_size = chunk_size
        self.delay = delay
        self.truncate_at = truncate_at
        self.content_type = content_type
        self.endless = endless
        self.interval = interval
        self.streaming = threading.Event()  # endless: the answer's head was sent
        self.closed = threading.Event()  # endless: the client's connection is gone
        self.used = False
        self.hits = 0
        self.request_headers = None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        stub = self.server.stub
        with stub._lock:
            stub._requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            entry = stub._entries.get(self.path)
            if entry is not None:
                entry.hits += 1
                entry.request_headers = {k.lower(): v for k, v in self.headers.items()}
                first = not entry.used
                entry.used = True
        if entry is None or not first:
            body = b"Not found"
            self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            return
        if entry.delay:
            time.sleep(entry.delay)
        body = entry.body
        self.send_response(entry.status)
        self.send_header("Content-Type", entry.content_type)
        self.send_header("Connection", "close")
        try:
            if entry.endless:
                self._serve_endless(entry)
                return
            if entry.chunked:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i in range(0, len(body), entry.chunk_size):
                    part = body[i:i + entry.chunk_size]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if entry.truncate_at is not None:
                    self.wfile.write(body[:entry.truncate_at])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _serve_endless(self, entry):
        """Chunked: the body as a first chunk, then one space every `interval` seconds until the
        client goes away (a write fails), which is recorded."""
        self.close_connection = True
        try:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if entry.body:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(entry.body), entry.body))
            self.wfile.flush()
            entry.streaming.set()
            while True:
                time.sleep(entry.interval)
                self.wfile.write(b"1\r\n \r\n")
                self.wfile.flush()
        except OSError:
            entry.closed.set()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class LookerStub:
    def __init__(self, host="127.0.0.1", tls=None, host_name=None):
        self.host = host
        self.tls = tls
        self.host_name = host_name or host
        self.server_names = []
        self.port = None
        self._lock = threading.Lock()
        self._entries = {}
        self._requests = []
        self._server = None
        self._thread = None

    def start(self):
        self._server = _Server((self.host, 0), _Handler)
        self._server.stub = self
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*self.tls)

            def remember(sock, name, _ctx):
                with self._lock:
                    self.server_names.append(name)

            ctx.sni_callback = remember
            self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="looker-stub",
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def add(self, body, status=200, chunked=False, chunk_size=4096, delay=0.0, truncate_at=None,
            content_type="application/json", endless=False, interval=0.1):
        """Registers a one-time result; returns its absolute URL."""
        if isinstance(body, str):
            body = body.encode()
        path = "/api/internal/download/%s?token=%s" % (secrets.token_hex(8), secrets.token_hex(16))
        with self._lock:
            self._entries[path] = _Entry(body, status, chunked, chunk_size, delay, truncate_at, content_type,
                                         endless, interval)
        return "%s://%s:%d%s" % ("https" if self.tls else "http", self.host_name, self.port, path)

    def _entry(self, url):
        path = url.split("://", 1)[1]
        path = path[path.index("/"):]
        return self._entries.get(path)

    def hits(self, url):
        with self._lock:
            e = self._entry(url)
            return e.hits if e else 0

    def requests(self):
        """(path, headers with lower-case names) of every GET received, in order."""
        with self._lock:
            return list(self._requests)

    def wait_streaming(self, url, timeout=10):
        with self._lock:
            e = self._entry(url)
        return e is not None and e.streaming.wait(timeout)

    def wait_closed(self, url, timeout=10):
        with self._lock:
            e = self._entry(url)
        return e is not None and e.closed.wait(timeout)

    def request_headers(self, url):
        with self._lock:
            e = self._entry(url)
            return e.request_headers if e else None
