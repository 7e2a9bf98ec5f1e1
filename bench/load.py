"""Push load for the benchmarks: gunicorn serving a target on a loopback port, WeChat's pushes made
(encrypted and signed) the way WeChat sends them, `wrk` sending a pool of them, the wait for an idle
machine before a timed run, and the memory of a process tree read from /proc.

Pushes are sealed with the sandbox's own message crypto (`sandbox/crypto.py`, which shares no code with
the portal). Their shapes: the ticket as the sandbox sends it (FIDELITY.md, "Pushes the sandbox sends"),
the audit result of the code-audit event page, and a user's text message as
https://developers.weixin.qq.com/miniprogram/dev/framework/open-ability/customer-message/receive.html gives
it: 「用户在客服会话中发送文本消息时将产生如下数据包」 with ToUserName 「小程序的原始ID」, FromUserName, CreateTime,
MsgType text, Content and MsgId 「消息id，64位整型」.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from bench.common import ROOT, free_port, wait_for_port
from bench.dataset import appid_for

WORKERS, THREADS = 2, 4
WRK_THREADS = 2
LUA = Path(__file__).with_name("push_pool.lua")
CONFIG = "gunicorn.conf.py"  # the production settings (README "Production deployment")


def children(pid: int) -> list[int]:
    """The direct children of `pid` (all its threads' children), or [] once it is gone."""
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(p) for p in (task / "children").read_text().split()]
    except (OSError, ValueError):
        return []
    return found


def descendants(pid: int) -> list[int]:
    found, todo = [], children(pid)
    while todo:
        child = todo.pop()
        found.append(child)
        todo += children(child)
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident memory so far (VmHWM), in MB; None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class Gunicorn:
    """gunicorn serving `target` on a loopback port; logs to a file. With `config` (e.g. "gunicorn.conf.py")
    the settings are that file's, read from the environment as in production (its GUNICORN_* variables,
    the bind address set here); otherwise `-w workers --threads 4`."""

    def __init__(self, target: str, env: dict, log_path: Path, workers: int = WORKERS, config: str | None = None,
                 port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        if config:
            command = ["-c", config, target]
            env = dict(env, GUNICORN_BIND=f"127.0.0.1:{self.port}")
        else:
            command = ["-w", str(workers), "--threads", str(THREADS), "-b", f"127.0.0.1:{self.port}",
                       "--log-level", "warning", "--graceful-timeout", "5", target]
        # a session of its own: what it leaves behind (workers of a killed master) can be found by group
        self.proc = subprocess.Popen([sys.executable, "-m", "gunicorn", *command], cwd=ROOT, env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_port(self.port, 60, self.proc)

    def workers(self) -> list[int]:
        return children(self.proc.pid)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the worker processes."""
        total = 0.0
        try:
            for pid in self.workers():
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return float("nan")
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.log.close()


class PushFactory:
    """Encrypted, signed pushes as WeChat sends them (query string + outer XML), one line per push."""

    def __init__(self, credentials: dict):
        from sandbox.crypto import MessageCrypto

        self.component_appid = credentials["WECHAT_COMPONENT_APPID"]
        self.crypto = MessageCrypto(credentials["WECHAT_COMPONENT_TOKEN"], credentials["WECHAT_COMPONENT_AES_KEY"],
                                    self.component_appid)

    def sealed(self, path: str, inner: str, outer_name: str, outer_value: str, extra: str = "") -> tuple[str, str]:
        """(path with its signed query string, outer XML body) of one push."""
        from urllib.parse import urlencode

        timestamp = str(int(time.time()))
        nonce = str(int.from_bytes(os.urandom(4), "big"))
        sealed = self.crypto.seal(inner, timestamp, nonce)
        query = urlencode({"signature": sealed["signature"], "timestamp": timestamp, "nonce": nonce}) + extra \
            + "&" + urlencode({"encrypt_type": "aes", "msg_signature": sealed["msg_signature"]})
        body = (f"<xml><{outer_name}><![CDATA[{outer_value}]]></{outer_name}>"
                f"<Encrypt><![CDATA[{sealed['encrypt']}]]></Encrypt></xml>")
        return f"{path}?{query}", body

    def _line(self, *args, **kwargs) -> str:
        return "\t".join(self.sealed(*args, **kwargs))

    def ticket_push(self, ticket: str | None = None) -> tuple[str, str]:
        ticket = ticket or f"ticket@@@{secrets.token_urlsafe(60)}"
        inner = (f"<xml><AppId><![CDATA[{self.component_appid}]]></AppId><CreateTime>{int(time.time())}</CreateTime>"
                 f"<InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA["
                 f"{ticket}]]></ComponentVerifyTicket></xml>")
        return self.sealed("/wechat/auth-events", inner, "AppId", self.component_appid)

    def ticket(self) -> str:
        return "\t".join(self.ticket_push())

    def audit_success(self, app_index: int) -> str:
        appid, user_name, now = appid_for(app_index), f"gh_{app_index:012d}", int(time.time())
        inner = (f"<xml><ToUserName><![CDATA[{user_name}]]></ToUserName><FromUserName><![CDATA["
                 f"o{secrets.token_hex(12)}]]></FromUserName><CreateTime>{now}</CreateTime><MsgType><![CDATA["
                 f"event]]></MsgType><Event><![CDATA[weapp_audit_success]]></Event><SuccTime>{now}</SuccTime></xml>")
        return self._line(f"/wechat/events/{appid}", inner, "ToUserName", user_name, f"&openid=o{appid[2:]}")

    def text_push(self, appid: str, user_name: str, content: str | None = None) -> tuple[str, str]:
        """A user's text message to the app (original id `user_name`), with a unique MsgId and Content."""
        msg_id = int.from_bytes(os.urandom(8), "big") >> 1
        content = content or f"hello {secrets.token_hex(8)}"
        openid = f"o{secrets.token_hex(12)}"
        inner = (f"<xml><ToUserName><![CDATA[{user_name}]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
                 f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                 f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>")
        return self.sealed(f"/wechat/events/{appid}", inner, "ToUserName", user_name, f"&openid={openid}")

    def text_message(self, app_index: int, content: str | None = None) -> str:
        return "\t".join(self.text_push(appid_for(app_index), f"gh_{app_index:012d}", content))

    def write(self, path: Path, lines) -> Path:
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path


def _busy_fraction(interval: float = 0.5) -> float:
    """The machine's CPU use over `interval` seconds (all cores, 0..1), from /proc/stat."""
    def sample():
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait

    total_before, idle_before = sample()
    time.sleep(interval)
    total_after, idle_after = sample()
    return 1 - (idle_after - idle_before) / max(1, total_after - total_before)


def _unwritten_mib() -> float:
    """Dirty and in-writeback page cache (MiB, /proc/meminfo): file data the kernel has yet to write."""
    fields = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
    return sum(int(fields.get(name, "0 kB").split()[0]) for name in ("Dirty", "Writeback")) / 1024


def settle(limit: float = 0.15, unwritten_mib: float = 64.0, timeout: float = 60.0) -> float:
    """Wait until the machine is nearly idle and the disk has caught up (what the previous run left behind,
    such as the database flushing the pages it wrote, would otherwise be charged to the next one: a write()
    of the push spool is held back by the kernel while too much is unwritten); returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout and (_busy_fraction() > limit or _unwritten_mib() > unwritten_mib):
        pass
    return time.monotonic() - started


def wrk(server, pool_file: Path, seconds: float, connections: int) -> dict:
    """`wrk` sending the pushes of `pool_file` to `server` (anything with `url` and `cpu_seconds()`)."""
    settle()
    url, cpu_before = server.url, server.cpu_seconds()
    out = subprocess.run(["wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds:.0f}s", "--timeout", "10s",
                          "-s", str(LUA), url, "--", str(pool_file), str(WRK_THREADS)],
                         capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed: {out.stderr.strip()[-500:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["per_second"] = result["requests"] / (result["duration_us"] / 1e6)
    result["cpu_ms"] = (server.cpu_seconds() - cpu_before) * 1000 / max(1, result["requests"])
    result["failed"] = result["non_2xx"] + result["not_success"] + result["connect_errors"] \
        + result["read_errors"] + result["write_errors"] + result["timeouts"]
    # answered 200 "success" (the Lua script counts every other answer in not_success)
    result["acknowledged"] = result["requests"] - result["not_success"]
    return result


def stored_counts(url: str) -> dict:
    """What the pushes left in the database at `url`: event rows by kind and by outcome, retries counted,
    audits approved."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        kinds = dict(conn.execute(sa.text("SELECT kind, COUNT(*) FROM callback_events GROUP BY kind")).all())
        outcomes = dict(conn.execute(sa.text("SELECT outcome, COUNT(*) FROM callback_events GROUP BY outcome")).all())
        dups = conn.scalar(sa.text("SELECT COALESCE(SUM(duplicates), 0) FROM callback_events"))
        approved = conn.scalar(sa.text("SELECT COUNT(*) FROM wxminiprogram_audit WHERE status = 0"))
    engine.dispose()
    return {"kinds": kinds, "outcomes": outcomes, "duplicates": int(dups), "approved": approved}
