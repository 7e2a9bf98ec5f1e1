"""Logging: one structured line per record, `key=value` (default) or JSON lines (`LOG_FORMAT=json`).

Every line carries the context it was written in: `request_id` in a web request, `job_id` and `job` (the job
function) in an RQ job or an embedded-mode job. The same formatter serves the portal's loggers, RQ's own
(`rq.worker`, `rq.scheduler`) and gunicorn's (`gunicorn.conf.py`), so one parser reads all of them.
Messages and tracebacks go through `redact` (token query parameters become `***`) and `redact_path`
(the token of an invitation link becomes `***`, in gunicorn's access lines too); nothing here logs
request bodies or query strings.
"""

import contextlib
import contextvars
import json
import logging
import os
import re
import sys
import time

from flask import g, has_app_context, request

from portal.wechat.http import redact

FORMATS = ("kv", "json")
# Loggers that get the portal's handler; gunicorn's are configured by gunicorn.conf.py.
HANDLED_LOGGERS = ("portal", "rq")
# gunicorn's access log passes its atoms as a dict; the response header the portal sets is one of them.
_GUNICORN_REQUEST_ID = "{x-request-id}o"
_job = contextvars.ContextVar("portal_job", default=None)
# An invitation link carries its secret in the path (/account/invitation/<token>).
_INVITATION_PATH = re.compile(r"(/invitation/)[^/\s?#\"']+")


def redact_path(text):
    """`text` with the token of every invitation link in it replaced by `***`."""
    return _INVITATION_PATH.sub(r"\1***", text) if "/invitation/" in text else text


@contextlib.contextmanager
def job_context(job_id, func_name):
    """Lines logged inside carry `job_id` and `job` (embedded-mode jobs; RQ jobs are found by RQ)."""
    token = _job.set((job_id or "-", func_name))
    try:
        yield
    finally:
        _job.reset(token)


def current_job():
    """(job_id, job function name) of the job running in this context, or None."""
    found = _job.get()
    if found is not None:
        return found
    from rq import get_current_job

    job = get_current_job()
    return (job.id, job.func_name) if job is not None else None


class ContextFilter(logging.Filter):
    """Adds `request_id`, `job_id` and `job` to every record ('-' where there is none)."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = _request_id(record)
        if not hasattr(record, "job_id"):  # a line with a request id is no job's (jobs run outside requests)
            job = current_job() if record.request_id == "-" else None
            record.job_id, record.job = job or ("-", "-")
        return True


def _request_id(record):
    if has_app_context():  # `g` lives in the app context: the callbacks' fast path has no request context
        request_id = g.get("request_id")
        if request_id:
            return request_id
    if isinstance(record.args, dict) and record.args.get(_GUNICORN_REQUEST_ID) not in (None, "", "-"):
        return record.args[_GUNICORN_REQUEST_ID]
    return "-"


class StructuredFormatter(logging.Formatter):
    """One line per record: `ts level logger [request_id job_id job] msg [exc]`, as key=value or JSON."""

    def __init__(self, style="kv"):
        super().__init__()
        if style not in FORMATS:
            raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {style!r}")
        self.style = style

    def fields(self, record):
        out = {"ts": _timestamp(record.created), "level": record.levelname, "logger": record.name}
        for key in ("request_id", "job_id", "job"):
            value = getattr(record, key, "-")
            if value not in (None, "", "-"):
                out[key] = value
        out["msg"] = redact_path(redact(record.getMessage()))
        if record.exc_info:
            out["exc"] = redact_path(redact(self.formatException(record.exc_info)))
        return out

    def format(self, record):
        fields = self.fields(record)
        if self.style == "json":
            return json.dumps(fields, ensure_ascii=False, default=str)
        return " ".join(f"{key}={_kv_value(value)}" for key, value in fields.items())


_QUOTED = re.compile(r'[ "=\n\r\t\\]')
_second = (None, "")  # (whole second, its ISO text): one line after another mostly share it


def _timestamp(created):
    """`2026-01-02T03:04:05.678Z` (UTC, milliseconds) for a record's `created` time."""
    global _second
    whole = int(created)
    micros = round((created - whole) * 1e6)  # as datetime rounds a timestamp, then cut to milliseconds
    if micros >= 1_000_000:
        whole, micros = whole + 1, micros - 1_000_000
    cached = _second
    if cached[0] != whole:
        cached = _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{cached[1]}.{micros // 1000:03d}Z"


def _kv_value(value):
    text = str(value)
    if text and not _QUOTED.search(text):
        return text
    return json.dumps(text, ensure_ascii=False)


def log_format(config=None):
    """The configured line format: `LOG_FORMAT` from the app's config, else the environment, else kv."""
    value = (config or {}).get("LOG_FORMAT") or os.environ.get("LOG_FORMAT") or "kv"
    return value.strip().lower()


def make_handler(style, stream=None):
    """A stream handler writing structured lines (stderr unless `stream` is given)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(StructuredFormatter(style))
    handler.addFilter(ContextFilter())
    return handler


def install_handlers(style, level="INFO", names=HANDLED_LOGGERS):
    """Give each named logger exactly one structured handler (idempotent; a new style replaces the old)."""
    for name in names:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if getattr(h, "_portal_installed", False)]:
            logger.removeHandler(old)
        handler = make_handler(style)
        handler._portal_installed = True
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False  # one line per record, whatever handlers others put on the root logger


def request_id_for(incoming):
    """The caller's X-Request-Id if it is usable, else a new 16-hex-digit id."""
    return incoming[:64] if incoming and incoming.isprintable() and " " not in incoming else os.urandom(8).hex()


def setup_logging(app):
    install_handlers(log_format(app.config), app.config.get("LOG_LEVEL", "INFO"))

    @app.before_request
    def assign_request_id():
        g.request_id = request_id_for(request.headers.get("X-Request-Id", ""))

    @app.after_request
    def echo_request_id(response):
        response.headers["X-Request-Id"] = g.get("request_id", "-")
        return response
