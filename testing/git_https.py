"""A private git server over https for tests: `git http-backend` behind a TLS server (a
self-signed certificate for 127.0.0.1) that answers 401 unless the request carries the
`Authorization` header GitHub takes for a token (`x-access-token:<token>`, basic). While a request
is served it records the command lines of the git processes on the host, so a test can show a
token never was on one."""

from __future__ import annotations

import base64
import os
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"


@dataclass
class Seen:
    """What the server saw: the Authorization headers, and every git process's argv and
    environment while it served a request."""

    authorizations: list[str] = field(default_factory=list)
    argvs: list[list[str]] = field(default_factory=list)
    environments: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class GitHttpsServer:
    url: str  # https://127.0.0.1:PORT
    certificate: Path  # for GIT_SSL_CAINFO
    seen: Seen


def make_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@contextmanager
def serve_git_https(root: Path, token: str, directory: Path) -> Iterator[GitHttpsServer]:
    """Serve the repositories under `root` (`/<owner>/<name>.git`) to whoever sends `token`."""
    cert, key = make_certificate(directory)
    expected = "Basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()
    seen = Seen()

    attributes = {"root": root, "expected": expected, "seen": seen}
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_GitHandler,), attributes))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield GitHttpsServer(f"https://127.0.0.1:{server.server_address[1]}", cert, seen)
    finally:
        server.shutdown()
        server.server_close()


class _GitHandler(BaseHTTPRequestHandler):
    root: Path
    expected: str
    seen: Seen

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _serve(self) -> None:
        _record_git_processes(self.seen)
        given = self.headers.get("Authorization", "")
        self.seen.authorizations.append(given)
        if given != self.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._backend()

    def _backend(self) -> None:
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        env = {
            "PATH": "/usr/bin:/bin",
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "REMOTE_ADDR": "127.0.0.1",
        }
        done = subprocess.run([HTTP_BACKEND], input=body, env=env, capture_output=True)
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(": ")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _record_git_processes(seen: Seen) -> None:
    """The argv (and environment) of every git process of this user, read from /proc."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if not argv or not os.path.basename(argv[0]).startswith(b"git"):
                continue
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:  # gone, or not ours
            continue
        seen.argvs.append([arg.decode(errors="replace") for arg in argv if arg])
        pairs = (item.decode(errors="replace").partition("=") for item in environ if item)
        seen.environments.append({name: value for name, _, value in pairs})
