"""The push spool: with CALLBACK_ACKNOWLEDGE=spooled, a checked push is appended to a file in this host's
spool directory and WeChat gets `success` at once; drainers store the spool into the database.

Why a file: answering WeChat should not wait on another server. A write to a local file returns as soon as
the page cache holds it, where a round trip to Redis or MySQL blocks the request thread, hands the
interpreter lock to another thread and wakes the other server - on a busy two-core host that costs more
than the checks themselves. The callback URLs then keep answering while MySQL and Redis are down or slow;
pushes wait in the spool and are stored when the database is back. It is how mail servers queue mail.

What is spooled is the push as WeChat sent it (still encrypted, with its signed query), after every check
passed, one JSON line per push (no decrypted secret is written); a drainer checks it again (all but the
timestamp) and stores it like any push, once, with WeChat's retries counted (the `store_queued` it is given).

Files (CALLBACK_SPOOL_DIR, a local directory; `<instance>/push-spool` by default): each process writes one
segment at a time, ``<ns>-<pid>-<n>.open``, under an exclusive `flock` it holds for as long as it writes.
A keeper thread closes a segment about a second after its first push (CALLBACK_SPOOL_SEGMENT_SECONDS):
flushed to disk, renamed ``.ready``, unlocked. Any drainer may take any segment it can lock: a ``.ready``
one, or an ``.open`` one whose process died (its lock died with it). A drained segment is deleted once its
rows are committed; what could not be stored (the database down) stays in it for the next drain.

Durability: `success` goes out once the line is written: a crash of the portal loses nothing (the kernel
has the data). The keeper flushes (`fdatasync`) every CALLBACK_SPOOL_SYNC_SECONDS (1 by default, as Redis'
``appendfsync everysec``), so a power loss can cost the last second of acknowledged pushes;
CALLBACK_SPOOL_SYNC_SECONDS=0 flushes before each `success` (no such window, much slower). A segment is
ordered; segments are drained in the order they were started, so pushes of two processes within the same
second may be stored in either order. If the spool cannot be written (disk full, no permission), the push
is stored before success instead.
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
BATCH = 500  # pushes stored per transaction
KEEPER_SECONDS = 0.25  # how often the keeper looks at the open segment
IDLE_DRAIN_SECONDS = 0.25  # an in-process drainer with nothing to do looks again after this


class SpoolError(Exception):
    """The push could not be written to the spool (the caller stores it before success instead)."""


def is_enabled():
    return current_app.config.get("CALLBACK_ACKNOWLEDGE") == "spooled"


def spool_dir(app):
    return app.config.get("CALLBACK_SPOOL_DIR") or os.path.join(app.instance_path, "push-spool")


def append(source, body, args, path_appid, store):
    """Write one checked push to this process's open segment; an in-process drainer (started here) stores it
    with `store`. :raise SpoolError: not written."""
    app = current_app._get_current_object()
    query = {name: args.get(name) for name in QUERY_FIELDS}
    line = "\n" + _record(source, path_appid, query, body) + "\n"  # the leading newline ends any torn line
    _writer(app).write(line.encode("ascii"))
    if app.config.get("CALLBACK_DRAIN_IN_PROCESS", True):
        _ensure_drainer(app, store)


def _record(source, path_appid, query, body):
    """One push as a spool line (without its newlines)."""
    return json.dumps({"s": source, "a": path_appid or "", "q": query, "b": base64.b64encode(body).decode("ascii")},
                      separators=(",", ":"))


def has_work(app):
    """Whether this host's spool is to be drained: the mode is on, or segments are left from when it was."""
    return app.config.get("CALLBACK_ACKNOWLEDGE") == "spooled" or pending(app) > 0


class _Handles:
    """This process's writer and in-process drainer of an app's spool (a fork makes new ones: the `pid`
    each was made in tells)."""

    def __init__(self):
        self.guard, self.writer, self.drainer = threading.Lock(), None, None


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


# --- draining ---

def _claimable(directory):
    """Segment names to try, oldest first (their names start with the time they were started)."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if n.endswith((READY, OPEN)))


def _records(data):
    """(index, source, body, args, path_appid) for each whole line; a torn line (a write cut short by a
    crash, never acknowledged) is skipped."""
    items, torn = [], 0
    for line in data.split(b"\n"):
        if not line:
            continue
        try:
            record = json.loads(line)
            items.append((len(items), record["s"], base64.b64decode(record["b"], validate=True), record["q"],
                          record["a"] or None))
        except (ValueError, KeyError, TypeError):
            torn += 1
    return items, torn


def drain_segment(path, store):
    """Store one segment with `store` (the package's `store_queued`) if no one else holds it; returns how many
    pushes were settled, or None when the segment is someone else's (being written, or taken by another
    drainer). Must run in an app context."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:  # renamed (closed by its writer) or drained meanwhile
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        try:  # still the file at that name (not drained and deleted, nor rewritten, by another drainer)
            if os.stat(path).st_ino != os.fstat(fd).st_ino:
                return None
        except FileNotFoundError:
            return None
        with os.fdopen(os.dup(fd), "rb") as stream:
            items, torn = _records(stream.read())
        if torn:
            log.warning("spool segment %s: %d torn line(s) skipped (never acknowledged)", os.path.basename(path),
                        torn)
        settled_count, left = 0, []
        for start in range(0, len(items), BATCH):
            batch = items[start:start + BATCH]
            settled = set(store(batch))
            settled_count += len(settled)
            left += [item for item in batch if item[0] not in settled]
        if left:
            _rewrite(path, left)
            log.warning("spool segment %s: %d push(es) not stored yet, kept for the next drain",
                        os.path.basename(path), len(left))
        else:
            os.unlink(path)
        return settled_count
    finally:
        os.close(fd)


def _rewrite(path, items):
    """Keep only `items` in the segment at `path` (written beside it, then moved over it)."""
    staging = path + ".rewrite"
    lines = [_record(source, appid, args, body) for _index, source, body, args, appid in items]
    with open(staging, "wb") as stream:
        stream.write(("\n" + "\n".join(lines) + "\n").encode("ascii"))
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(staging, path[:-len(OPEN)] + READY if path.endswith(OPEN) else path)
    if path.endswith(OPEN):
        os.unlink(path)


def drain_all(app, store):
    """Store every segment that can be taken now (what `flask drain-pushes` and the workers' schedule run);
    returns how many pushes were settled. Must run in an app context."""
    from portal.extensions import db

    directory, total = spool_dir(app), 0
    for name in _claimable(directory):
        settled = drain_segment(os.path.join(directory, name), store)
        db.session.remove()
        total += settled or 0
    _remove_leftovers(directory)
    return total


def _remove_leftovers(directory, age=60.0):
    """Files of a writer or drainer that died between two steps: an empty segment never renamed ``.open``,
    a rewrite never moved over its segment (which still holds every push)."""
    try:
        names = [n for n in os.listdir(directory) if n.endswith((".new", ".rewrite"))]
    except FileNotFoundError:
        return
    for name in names:
        path = os.path.join(directory, name)
        try:
            if time.time() - os.stat(path).st_mtime < age:
                continue
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.unlink(path)
            finally:
                os.close(fd)
        except OSError:  # gone meanwhile, or still held by a live process
            continue


def pending(app):
    """Segments waiting in the spool (open ones included)."""
    return len(_claimable(spool_dir(app)))


def backlog(app):
    """What waits in this host's spool: {"pushes", "segments", "oldest_seconds"} (the age of the oldest
    segment, from the time in its name; None when the spool is empty)."""
    directory, pushes, oldest = spool_dir(app), 0, None
    names = _claimable(directory)
    for name in names:
        try:
            with open(os.path.join(directory, name), "rb") as stream:
                pushes += sum(1 for line in stream if line.startswith(b"{"))
        except FileNotFoundError:  # drained meanwhile
            continue
        if oldest is None:
            try:
                oldest = max(0.0, time.time() - int(name.split("-", 1)[0]) / 1e9)
            except ValueError:
                oldest = None
    return {"pushes": pushes, "segments": len(names), "oldest_seconds": oldest}


def drain_forever(app, store):
    """The in-process drainer (and `flask drain-pushes --follow`): drain, pause when idle, repeat."""
    while True:
        try:
            with app.app_context():
                settled = drain_all(app, store)
            if not settled:
                time.sleep(IDLE_DRAIN_SECONDS)
        except Exception:  # noqa: BLE001 - the segments stay in the spool; try again shortly
            log.exception("draining the push spool failed")
            time.sleep(1)


def _ensure_drainer(app, store):
    handles = _handles(app)
    drainer = handles.drainer
    if drainer is not None and drainer.is_alive() and drainer.pid == os.getpid():
        return
    with handles.guard:
        drainer = handles.drainer
        if drainer is None or not drainer.is_alive() or drainer.pid != os.getpid():
            drainer = handles.drainer = threading.Thread(target=drain_forever, args=(app, store),
                                                         name="push-spool-drainer", daemon=True)
            drainer.pid = os.getpid()
            drainer.start()
