"""POSTs to one operator system's URL over kept connections: one connection per sending thread, opened on
its first POST and kept until the run that sends ends (`close`).

The standard library's `http.client`, not urllib3's shared pool: a delivery is one POST of bytes already
signed, and with a run's 16 threads urllib3 spends about 0.6 ms of CPU per POST (its pool's queue and locks,
its header and response objects) against 0.25 ms here, the largest part of what a delivery costs the
worker (`make bench`, forwarding rows). No redirects, no retries (a failure waits for the back-off); HTTPS
checks the certificate and host name against the system's trusted CAs (`tls_context`).
Imports the standard library only.
"""

import http.client
import select
import ssl
import threading
from urllib.parse import urlsplit

MAX_ANSWER_BYTES = 64 * 1024  # of an answer's body read to keep its connection; a longer one closes it


def tls_context():
    """The context of HTTPS targets: certificate and host name checked against the system's trusted CAs.
    Loading them costs milliseconds: the caller keeps one per process."""
    return ssl.create_default_context()


def _dropped(connection):
    """True when the kept connection's peer has closed it (its socket reads as ready: end of file, or bytes
    nobody asked for), so the next POST would fail on it."""
    poller = select.poll()  # poll, not select: descriptors above 1023 are fine
    poller.register(connection.sock, select.POLLIN)
    return bool(poller.poll(0))


class Target:
    """One URL (http, or https with `tls`, a `tls_context()`), thread-safe: each thread sends over its own
    connection."""

    def __init__(self, url, timeout, tls):
        parts = urlsplit(url)
        self.https, self.host, self.port = parts.scheme == "https", parts.hostname, parts.port
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.timeout, self.tls = timeout, tls
        self._local, self._opened, self._guard = threading.local(), [], threading.Lock()

    def _connection(self):
        connection = getattr(self._local, "connection", None)
        if connection is None:
            if self.https:
                connection = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                                         context=self.tls)
            else:
                connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._local.connection = connection
            with self._guard:
                self._opened.append(connection)
        elif connection.sock is not None and _dropped(connection):
            connection.close()  # http.client connects again below
        return connection

    def post(self, body, headers):
        """POST `body`; (HTTP status or None, error text or None). Never raises for the target's failures, and
        never puts the URL or the body in the error."""
        connection = self._connection()
        try:
            if connection.sock is None:
                connection.connect()
        except TimeoutError:
            connection.close()
            return None, f"could not connect within {self.timeout:g} s"
        except OSError as exc:
            connection.close()
            return None, f"could not connect ({exc.__class__.__name__})"
        try:
            connection.request("POST", self.path, body=body, headers=headers)
            response = connection.getresponse()
            response.read(MAX_ANSWER_BYTES)
            if not response.isclosed():  # more answer than we read: the connection cannot be used again
                connection.close()
        except TimeoutError:
            connection.close()
            return None, f"no answer within {self.timeout:g} s"
        except (http.client.HTTPException, OSError) as exc:
            connection.close()
            return None, f"could not connect ({exc.__class__.__name__})"
        if 200 <= response.status < 300:
            return response.status, None
        return response.status, f"HTTP {response.status}"

    def close(self):
        with self._guard:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()
