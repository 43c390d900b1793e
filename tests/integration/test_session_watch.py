"""While a handler works, the session keeps a read armed to notice a client that goes away;
it lets go of it before the next request. Keep-alive connections, plain and TLS, keep
working request after request, with requests pipelined behind each other too."""

import http.client
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import unittest

from harness import Relay


class KeepAliveTest(unittest.TestCase):
    def requests_on_one_connection(self, conn, n=5):
        for _ in range(n):
            conn.request("GET", "/healthz")
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            self.assertEqual(json.loads(resp.read()), {"status": "ok"})

    def test_plain_keep_alive_and_pipelining(self):
        with Relay() as relay:
            conn = http.client.HTTPConnection("127.0.0.1", relay.port, timeout=10)
            self.requests_on_one_connection(conn)
            conn.close()
            three = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 2 + \
                b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            out = relay.raw(three, timeout=10)
            self.assertEqual(out.count(b"HTTP/1.1 200"), 3, out)

    def test_tls_keep_alive(self):
        d = tempfile.mkdtemp(prefix="lsr-tls-")
        self.addCleanup(shutil.rmtree, d, True)
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
             "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True, timeout=60)
        with Relay({"server": {"tls": {"enabled": True, "cert_file": cert, "key_file": key}}}) as relay:
            ctx = ssl.create_default_context(cafile=cert)
            conn = http.client.HTTPSConnection("127.0.0.1", relay.port, timeout=10, context=ctx)
            self.requests_on_one_connection(conn, 8)
            conn.close()


if __name__ == "__main__":
    unittest.main()
