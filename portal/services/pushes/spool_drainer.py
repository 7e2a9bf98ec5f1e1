"""Draining the push spool (see `spool`): the pushes the web processes appended are stored as they are
appended, not once their file closes.

A drainer *follows* segments: it reads an open segment up to its last newline while its writer still
appends, stores those pushes (`store`, the package's `store_queued`, BATCH per transaction), and notes in
the segment's position file (``<stem>.pos``) how far it got. A push is so stored within a poll
(FOLLOW_POLL_SECONDS) of its `success`. A writer holds its segment's `flock` while it writes; once the
drainer can take that lock itself (the writer closed the segment, or died), nothing more will be written:
it stores the rest and deletes the segment, then its position file.

One drainer per segment: a drainer takes a segment by locking its position file, keeps the lock while it
follows the segment, and reads the position only once it holds the lock, so no line is stored twice by two
drainers. The position is written after each commit, without a flush: a drainer killed between a commit and
that write, or a host that loses power, stores that batch again later (counted as WeChat retries, nothing
lost or doubled in the tables a push changes).

Pushes a batch could not store at all (the database down) stay where they are, and the segment is tried
again on the next pass. When only some could not be stored, those are written to a segment of their own
(``<stem>-k<offset>.ready``, flushed before the position moves past them), so one push that cannot be stored
never holds back the ones behind it.

Who drains: the *host drainer*, `flask drain-pushes --follow`, which `worker.py` runs as a niced child
process (`supervised_host_drainer`), holds the host's drainer lock (``.host-drainer`` in the spool) for as
long as it runs; a second one waits on that lock to take over. A web process (CALLBACK_DRAIN_IN_PROCESS)
drains in a thread only while no host drainer holds it: where a worker runs beside gunicorn, the web tier
spends its CPU on answering WeChat and the niced drainer stores the pushes with what is left; where none
does (`make run`, or web hosts without a worker), the web processes store them themselves.
"""

import contextlib
import fcntl
import logging
import os
import signal
import subprocess
import sys
import threading
import time

from portal.coordination import coordination
from portal.extensions import db
from portal.services.pushes import spool

log = logging.getLogger("portal.callbacks")

POS = ".pos"
HOST_LOCK = ".host-drainer"
BATCH = 200  # pushes stored per transaction (their rows, and the audits they close, held in memory at once)
READ_BYTES = 1 << 20  # read from a segment per look (a push is at most CALLBACK_MAX_BYTES, 64 KiB, as base64)
FOLLOW_POLL_SECONDS = 0.05  # a follower that found nothing new looks again after this,
IDLE_POLL_SECONDS = 0.25  # or after this once nothing has come for IDLE_AFTER_SECONDS
IDLE_AFTER_SECONDS = 2.0
DEFER_POLL_SECONDS = 0.5  # a web process's drainer looks this often whether a host drainer runs
ERROR_PAUSE_SECONDS = 1.0
LEFTOVER_SECONDS = 60.0  # files a writer or drainer died in the middle of are removed after this


class _Claim:
    """A segment this drainer follows: the segment's descriptor, its locked position file, the position."""

    __slots__ = ("stem", "fd", "pos_fd", "offset", "torn")

    def __init__(self, stem, fd, pos_fd, offset):
        self.stem, self.fd, self.pos_fd, self.offset, self.torn = stem, fd, pos_fd, offset, 0


class SpoolDrainer:
    """Follows every segment of one spool directory it can take; `drain_pass()` looks at each once."""

    def __init__(self, app, store):
        self.dir, self.store, self.claims = spool.spool_dir(app), store, {}
        self.capped = False  # the last pass left data it did not read (more than READ_BYTES in a segment)

    def drain_pass(self):
        """Store what is new in every segment this drainer holds or can take; returns how many pushes were
        settled (stored, counted as a retry, or refused). Must run in an app context."""
        settled, listed, self.capped = 0, set(), False
        for name in spool.segments(self.dir):
            stem = name.rsplit(".", 1)[0]
            listed.add(stem)
            claim = self.claims.get(stem) or self._claim(stem)
            if claim is None:
                continue
            self.claims[stem] = claim
            count, finished = self._follow(claim)
            settled += count
            if finished:
                self._finish(claim)
        for stem in set(self.claims) - listed:  # gone without us: never expected, but never kept open
            self._drop(self.claims.pop(stem))
        return settled

    def release(self):
        """Give every segment back (another drainer takes them up at their positions)."""
        for claim in self.claims.values():
            self._drop(claim)
        self.claims = {}

    def _claim(self, stem):
        fd = None
        for suffix in (spool.READY, spool.OPEN):  # closing renames .open to .ready: the newer name first
            try:
                fd = os.open(os.path.join(self.dir, stem + suffix), os.O_RDONLY | os.O_CLOEXEC)
                break
            except FileNotFoundError:
                continue
        if fd is None:
            return None
        pos_path = os.path.join(self.dir, stem + POS)
        try:
            pos_fd = os.open(pos_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            os.close(fd)
            raise
        try:
            fcntl.flock(pos_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another drainer follows it
            os.close(pos_fd)
            os.close(fd)
            return None
        if not self._still_there(stem, fd):  # finished and deleted by the drainer that held it before
            _unlink(pos_path)
            os.close(pos_fd)
            os.close(fd)
            return None
        raw = os.pread(pos_fd, 32, 0).strip()
        return _Claim(stem, fd, pos_fd, int(raw) if raw.isdigit() else 0)

    def _still_there(self, stem, fd):
        inode = os.fstat(fd).st_ino
        for suffix in (spool.READY, spool.OPEN):
            try:
                if os.stat(os.path.join(self.dir, stem + suffix)).st_ino == inode:
                    return True
            except FileNotFoundError:
                continue
        return False

    def _follow(self, claim):
        """Store the whole lines past the claim's position; (settled, finished): finished once the writer is
        done with the segment and every line of it is settled."""
        try:
            fcntl.flock(claim.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # only once its writer let go of it
            done = True
        except BlockingIOError:
            done = False
        size, base = os.fstat(claim.fd).st_size, claim.offset  # the size after the lock: then it is final
        if size <= base:
            return 0, done
        length = min(size - base, READ_BYTES)  # a backlog is read a part at a time: memory stays flat
        self.capped = self.capped or length < size - base
        data = os.pread(claim.fd, length, base)
        end = len(data) if done and base + length >= size else data.rfind(b"\n") + 1
        if end <= 0:
            return 0, False
        items, spans = [], {}
        start = 0
        while start < end:
            newline = data.find(b"\n", start, end)
            stop = end if newline < 0 else newline
            if stop > start:
                key = base + stop + 1
                try:
                    items.append((key, *spool.parse(data[start:stop])))
                    spans[key] = (start, stop)
                except ValueError:  # a line a crash cut short: never acknowledged
                    claim.torn += 1
            start = stop + 1
        settled = 0
        for first in range(0, len(items), BATCH):
            batch = items[first:first + BATCH]
            stored = set(self.store(batch))
            if not stored:  # nothing could be stored (the database is down): the next pass tries again
                return settled, False
            missed = [key for key, *_rest in batch if key not in stored]
            if missed:
                self._keep(claim, [data[spans[key][0]:spans[key][1]] for key in missed], batch[0][0])
            settled += len(stored)
            self._advance(claim, batch[-1][0] if first + BATCH < len(items) else base + end)
        if not items:
            self._advance(claim, base + end)
        return settled, done and claim.offset >= size

    def _advance(self, claim, offset):
        claim.offset = offset
        os.pwrite(claim.pos_fd, b"%020d" % offset, 0)

    def _keep(self, claim, lines, key):
        """Write pushes that could not be stored to a segment of their own, on disk before moving past them."""
        name = f"{claim.stem}-k{key:012d}"
        staging = os.path.join(self.dir, name + ".new")
        with open(staging, "wb") as stream:
            stream.write(b"\n" + b"\n".join(lines) + b"\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.rename(staging, os.path.join(self.dir, name + spool.READY))
        _sync_directory(self.dir)
        log.warning("spool segment %s: %d push(es) not stored yet, kept in %s for the next drain", claim.stem,
                    len(lines), name)

    def _finish(self, claim):
        """Delete a segment every line of which is settled, then its position file."""
        if claim.torn:
            log.warning("spool segment %s: %d torn line(s) skipped (never acknowledged)", claim.stem, claim.torn)
        for suffix in (spool.READY, spool.OPEN):
            _unlink(os.path.join(self.dir, claim.stem + suffix))
        _unlink(os.path.join(self.dir, claim.stem + POS))
        self._drop(self.claims.pop(claim.stem))

    @staticmethod
    def _drop(claim):
        os.close(claim.pos_fd)
        os.close(claim.fd)


def _unlink(path):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _sync_directory(directory):
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def drain_all(app, store):
    """Drain this host's spool as it is now (what `flask drain-pushes` and the workers' schedule run): every segment no other drainer follows is stored up to its last whole line, and deleted
    once its writer is done with it. Returns how many pushes were settled. Must run in an app context."""
    drainer, total = SpoolDrainer(app, store), 0
    try:
        while True:  # a pass reads at most READ_BYTES of each segment; what arrives meanwhile waits
            settled = drainer.drain_pass()
            total += settled
            if not settled or not drainer.capped:
                return total
    finally:
        drainer.release()
        db.session.remove()
        _remove_leftovers(drainer.dir)


def _remove_leftovers(directory):
    """Files of a writer or drainer that died between two steps: an empty segment never renamed ``.open``,
    a kept segment never renamed ``.ready``, a position file whose segment is gone."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return
    stems = {name.rsplit(".", 1)[0] for name in names if name.endswith((spool.OPEN, spool.READY))}
    for name in names:
        if not (name.endswith(".new") or (name.endswith(POS) and name[:-len(POS)] not in stems)):
            continue
        path = os.path.join(directory, name)
        try:
            if time.time() - os.stat(path).st_mtime < LEFTOVER_SECONDS:
                continue
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.unlink(path)
            finally:
                os.close(fd)
        except OSError:  # gone meanwhile, or still held by a live process
            continue


def has_work(app):
    """Whether this host's spool is to be drained: spooling is on, or segments are left from when it was."""
    return app.config.get("CALLBACK_ACKNOWLEDGE") == "spooled" or bool(spool.segments(spool.spool_dir(app)))


def backlog(app):
    """What waits in this host's spool: {"pushes", "segments", "oldest_seconds"} (pushes past each segment's
    position; the age of the oldest segment from the time in its name, None when the spool is empty)."""
    directory, pushes, oldest = spool.spool_dir(app), 0, None
    names = spool.segments(directory)
    for name in names:
        stem = name.rsplit(".", 1)[0]
        try:
            with open(os.path.join(directory, stem + POS), "rb") as stream:
                raw = stream.read(32).strip()
            offset = int(raw) if raw.isdigit() else 0
        except FileNotFoundError:
            offset = 0
        try:
            with open(os.path.join(directory, name), "rb") as stream:
                stream.seek(offset)
                pushes += sum(1 for line in stream if line.startswith(b"{") and line.endswith(b"\n"))
        except FileNotFoundError:  # drained meanwhile
            continue
        if oldest is None:
            try:
                oldest = max(0.0, time.time() - int(name.split("-", 1)[0]) / 1e9)
            except ValueError:
                oldest = None
    return {"pushes": pushes, "segments": len(names), "oldest_seconds": oldest}


def wait_until_drained(app, timeout=30.0):
    """Wait until every push spooled on this host so far is stored (the demo's steps, which read what a push
    changed); True once so, False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while backlog(app)["pushes"]:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# --- who drains ---

def host_drainer_running(app):
    """True while a host drainer holds this host's drainer lock."""
    try:
        fd = os.open(os.path.join(spool.spool_dir(app), HOST_LOCK), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def lower_priority(nice):
    """Lower this process's CPU priority by `nice`, so that it gets only what the web processes leave.

    A nice value weighs only against the processes of the same scheduling group. Where the kernel groups
    processes by session (autogroup, on by default on desktop and many server kernels), gunicorn and
    `worker.py` each run in a session of their own (a terminal, a service), so a drainer niced inside the
    worker's session would still share the CPUs half and half with the whole of gunicorn. The drainer
    therefore starts a session of its own and gives that group the same nice value (/proc/self/autogroup);
    the kernel then hands it a tenth of a busy CPU at nice 10, and all it asks for while the CPUs have room.
    Returns whether the group's value was set (False where there are no autogroups)."""
    os.nice(nice)
    try:
        if os.getsid(0) != os.getpid():
            os.setsid()
        with open("/proc/self/autogroup", "w", encoding="ascii") as group:
            group.write(str(nice))
        return True
    except OSError:
        return False


def follow(app, store, stop=lambda: False, defer_to_host=False, wake=None):
    """Drain as pushes arrive until `stop()`: `flask drain-pushes --follow`, and a web process's drainer
    thread (`defer_to_host`: idle while a host drainer runs, its segments given back to it; `wake`, an
    event this process's writers set, ends a pause at once). The host drainer gives way to the web
    processes through the scheduler (`lower_priority`), not by pausing: it stores as soon as it can."""
    drainer, last_settled = SpoolDrainer(app, store), time.monotonic()
    try:
        while not stop():
            if defer_to_host and host_drainer_running(app):
                drainer.release()
                time.sleep(DEFER_POLL_SECONDS)
                continue
            try:
                with app.app_context():
                    settled = drainer.drain_pass()
            except Exception:  # noqa: BLE001 - the segments stay in the spool; try again shortly
                log.exception("draining the push spool failed")
                drainer.release()
                time.sleep(ERROR_PAUSE_SECONDS)
                continue
            now = time.monotonic()
            if settled:
                last_settled = now
                continue
            pause = FOLLOW_POLL_SECONDS if now - last_settled < IDLE_AFTER_SECONDS else IDLE_POLL_SECONDS
            if wake is None:
                time.sleep(pause)
            elif wake.wait(pause):
                wake.clear()
    finally:
        drainer.release()


def hold_host_lock(app, stop=lambda: False):
    """Wait until this process is the host's drainer (or `stop()`); returns the lock's descriptor, to keep
    open for as long as this process drains, or None when stopped first."""
    directory = spool.spool_dir(app)
    os.makedirs(directory, exist_ok=True)
    fd = os.open(os.path.join(directory, HOST_LOCK), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    while not stop():
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            time.sleep(DEFER_POLL_SECONDS)
    os.close(fd)
    return None


class _InProcess:
    """This process's drainer thread of an app's spool (a fork makes a new one: its `pid` tells)."""

    def __init__(self):
        self.guard, self.thread, self.wake = threading.Lock(), None, threading.Event()


def start_in_process(app, store):
    """Make sure this web process has a drainer thread (one per process, started with its first push), and
    tell it a push was written."""
    handle = coordination(app).here("push_spool_drainer", _InProcess)
    handle.wake.set()
    thread = handle.thread
    if thread is not None and thread.pid == os.getpid() and thread.is_alive():
        return
    with handle.guard:
        thread = handle.thread
        if thread is None or thread.pid != os.getpid() or not thread.is_alive():
            thread = handle.thread = threading.Thread(target=follow, args=(app, store),
                                                      kwargs={"defer_to_host": True, "wake": handle.wake},
                                                      name="push-spool-drainer", daemon=True)
            thread.pid = os.getpid()
            thread.start()


@contextlib.contextmanager
def supervised_host_drainer(app, root):
    """Run this host's drainer beside a worker (`worker.py`): `flask drain-pushes --follow` as a child
    process at CALLBACK_DRAINER_NICE, started again a second after it exits, stopped with the worker.
    Nothing is started when pushes are not spooled here, or with CALLBACK_HOST_DRAINER off."""
    if not app.config.get("CALLBACK_HOST_DRAINER", True) or not has_work(app):
        yield None
        return
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "drain-pushes", "--follow",
               "--nice", str(int(app.config.get("CALLBACK_DRAINER_NICE", 10))), "--exit-with-parent"]
    stopping, state = threading.Event(), {"process": None}

    def keep_running():
        while not stopping.is_set():
            process = state["process"] = subprocess.Popen(command, cwd=root)
            code = process.wait()
            if not stopping.is_set():
                log.warning("the push drainer exited (status %s); starting it again", code)
                stopping.wait(1.0)

    supervisor = threading.Thread(target=keep_running, name="push-drainer-supervisor", daemon=True)
    supervisor.start()
    try:
        yield supervisor
    finally:
        stopping.set()
        process = state["process"]
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        supervisor.join(timeout=5)
