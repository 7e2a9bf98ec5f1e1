"""The push spool: a checked push is appended to a file in this host's spool directory and WeChat gets
`success` at once (CALLBACK_ACKNOWLEDGE=spooled, the default); `spool_drainer` stores the spool into the
database, following each file as it grows.

Why a file: answering WeChat should not wait on another server. A write to a local file returns as soon as
the page cache holds it, where a round trip to Redis or MySQL blocks the request thread, hands the
interpreter lock to another thread and wakes the other server - on a busy two-core host that costs more
than the checks themselves. The callback URLs then keep answering while MySQL and Redis are down or slow;
pushes wait in the spool and are stored when the database is back. It is how mail servers queue mail.

What is spooled is the push as WeChat sent it (still encrypted, with its signed query), after every check
passed, one JSON line per push (no decrypted secret is written); a drainer checks it again (all but the
timestamp) and stores it like any push, once, with WeChat's retries counted.

Files (CALLBACK_SPOOL_DIR, a local directory; `<instance>/push-spool` by default): each process writes one
segment at a time, ``<ns>-<pid>-<n>.open``, under an exclusive `flock` it holds for as long as it writes.
A keeper thread closes a segment about a second after its first push (CALLBACK_SPOOL_SEGMENT_SECONDS):
flushed to disk, renamed ``.ready``, unlocked. Each line is one `write` that starts and ends with a newline,
so a reader that stops at the last newline sees whole lines only, and a line cut short by a crash (never
acknowledged) is followed by a newline of the next line and fails to parse.

Durability: `success` goes out once the line is written: a crash of the portal loses nothing (the kernel
has the data). The keeper flushes (`fdatasync`) every CALLBACK_SPOOL_SYNC_SECONDS (1 by default, as Redis'
``appendfsync everysec``), so a power loss can cost the last second of acknowledged pushes;
CALLBACK_SPOOL_SYNC_SECONDS=0 flushes before each `success` (no such window, much slower). If the spool
cannot be written (disk full, no permission), the push is stored before success instead.
"""

import base64
import fcntl
import json
import logging
import os
import threading
import time

from flask import current_app

from portal.coordination import coordination

log = logging.getLogger("portal.callbacks")

QUERY_FIELDS = ("msg_signature", "timestamp", "nonce")
OPEN, READY = ".open", ".ready"
KEEPER_SECONDS = 0.25  # how often the keeper looks at the open segment


class SpoolError(Exception):
    """The push could not be written to the spool (the caller stores it before success instead)."""


def is_enabled():
    return current_app.config.get("CALLBACK_ACKNOWLEDGE") == "spooled"


def spool_dir(app):
    return app.config.get("CALLBACK_SPOOL_DIR") or os.path.join(app.instance_path, "push-spool")


def append(source, body, args, path_appid, request_id=None):
    """Write one checked push to this process's open segment. :raise SpoolError: not written."""
    app = current_app._get_current_object()
    query = {name: args.get(name) for name in QUERY_FIELDS}
    line = "\n" + record(source, path_appid, query, body, request_id) + "\n"  # the leading newline ends any torn line
    _writer(app).write(line.encode("ascii"))


def record(source, path_appid, query, body, request_id=None):
    """One push as a spool line (without its newlines). `request_id` is the request's that brought it, for the
    drainer's log line (printable ASCII, see `logging_setup.request_id_for`)."""
    item = {"s": source, "a": path_appid or "", "q": query, "b": base64.b64encode(body).decode("ascii")}
    if request_id:
        item["r"] = request_id
    return json.dumps(item, separators=(",", ":"))


def parse(line):
    """(source, body, args, path_appid, request_id) of a spool line (request_id None in lines written without
    one). :raise ValueError: not a whole line."""
    try:
        item = json.loads(line)
        return item["s"], base64.b64decode(item["b"], validate=True), item["q"], item["a"] or None, item.get("r")
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError("not a spool line") from exc


def segments(directory):
    """Segment names, oldest first (their names start with the time they were started)."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if n.endswith((READY, OPEN)))


class _Handles:
    """This process's writer of an app's spool (a fork makes a new one: the `pid` it was made in tells)."""

    def __init__(self):
        self.guard, self.writer = threading.Lock(), None


def _handles(app):
    return coordination(app).here("push_spool", _Handles)


def _writer(app):
    handles = _handles(app)
    writer = handles.writer
    if writer is None or writer.pid != os.getpid():
        with handles.guard:
            writer = handles.writer
            if writer is None or writer.pid != os.getpid():
                writer = handles.writer = _Writer(app)
    return writer


class _Segment:
    __slots__ = ("fd", "path", "started", "records", "dirty")

    def __init__(self, fd, path):
        self.fd, self.path, self.started, self.records, self.dirty = fd, path, time.monotonic(), 0, False


class _Writer:
    """This process's open segment, its lock, and the keeper thread that closes and flushes segments."""

    def __init__(self, app):
        self.pid, self.dir = os.getpid(), spool_dir(app)
        self.sync_seconds = float(app.config.get("CALLBACK_SPOOL_SYNC_SECONDS", 1.0))
        self.segment_seconds = float(app.config.get("CALLBACK_SPOOL_SEGMENT_SECONDS", 1.0))
        self.segment_records = int(app.config.get("CALLBACK_SPOOL_SEGMENT_RECORDS", 10000))
        self.lock, self.segment, self.count = threading.Lock(), None, 0
        self.created = False  # a segment was created or renamed since the directory was last flushed
        try:
            os.makedirs(self.dir, exist_ok=True)
        except OSError as exc:
            raise SpoolError(f"cannot create the spool directory {self.dir}: {exc}") from exc
        self.keeper = threading.Thread(target=self._keep, name="push-spool-keeper", daemon=True)
        self.keeper.start()

    def write(self, data):
        with self.lock:
            segment = self.segment
            try:
                if segment is None:
                    segment = self.segment = self._new_segment()
                view = memoryview(data)
                while view:
                    view = view[os.write(segment.fd, view):]
                if self.sync_seconds <= 0:
                    os.fdatasync(segment.fd)
                    if self.created:
                        self._flush_directory()
            except OSError as exc:
                if segment is not None:  # nothing more goes after a line that may be torn
                    self.segment = None
                    self._close(segment)
                raise SpoolError(f"cannot write to the spool: {exc}") from exc
            segment.records += 1
            segment.dirty = True

    def _new_segment(self):
        self.count += 1
        name = f"{time.time_ns():020d}-{self.pid}-{self.count}"
        staging = os.path.join(self.dir, name + ".new")
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # locked before any drainer can see it
            path = os.path.join(self.dir, name + OPEN)
            os.rename(staging, path)
        except OSError:
            os.close(fd)
            raise
        self.created = True
        return _Segment(fd, path)

    def _close(self, segment):
        """Flush a segment the writer is done with, mark it ready and unlock it (a drainer may take it)."""
        try:
            if segment.dirty and self.sync_seconds > 0:
                os.fdatasync(segment.fd)
            if segment.records:
                os.rename(segment.path, segment.path[:-len(OPEN)] + READY)
            else:
                os.unlink(segment.path)
            self.created = True
        except OSError:
            log.exception("closing spool segment %s failed (a drainer takes it as it is)",
                          os.path.basename(segment.path))
        finally:
            os.close(segment.fd)

    def _flush_directory(self):
        fd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self.created = False

    def _keep(self):
        last_sync = time.monotonic()
        while True:
            time.sleep(KEEPER_SECONDS)
            try:
                last_sync = self._keep_once(last_sync)
            except Exception:  # noqa: BLE001 - the keeper must not die; the next pass tries again
                log.exception("the push spool keeper failed")

    def _keep_once(self, last_sync):
        now, closing, syncing = time.monotonic(), None, None
        with self.lock:
            segment = self.segment
            if segment is not None and segment.records and (
                    now - segment.started >= self.segment_seconds or segment.records >= self.segment_records):
                closing, self.segment = segment, None
            elif segment is not None and segment.dirty and 0 < self.sync_seconds <= now - last_sync:
                syncing, segment.dirty = os.dup(segment.fd), False
        if closing is not None:
            self._close(closing)
        if syncing is not None:
            try:
                os.fdatasync(syncing)
            finally:
                os.close(syncing)
        if closing is not None or syncing is not None:
            last_sync = now
        if self.created and self.sync_seconds > 0:
            self._flush_directory()
        return last_sync
