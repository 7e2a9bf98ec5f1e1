"""Configuration of the portal, read from the environment.

One `Config` class with development defaults for everything but the keys: an SQLite file under
`instance/`, no Redis (jobs run in process), and WeChat's real hosts as base URLs (`make run` points them
at the sandbox). Nothing is computed at import time except reading the environment. A process counts as production unless
`PORTAL_ENV=development` says otherwise (gunicorn, `worker.py` and `flask` commands alike), and
`Config.check_production()` refuses to start production with a published or short key.
"""

import os

DEV_SECRET_KEY = "dev-secret-key-change-me"
DEV_DATA_KEY = "dev-data-key-change-me"
# Keys anyone can read in this repository (the defaults, and values earlier versions of the tests used):
# with one of them, anyone can sign a session cookie for any user.
PUBLISHED_KEYS = frozenset({DEV_SECRET_KEY, DEV_DATA_KEY, "test-secret-key", "test-data-key"})
MIN_KEY_BYTES = 32
_BASE_DIR = os.path.dirname(os.path.abspath(__file__))


def _env(name, default=None):
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def _env_int(name, default):
    value = _env(name)
    return int(value) if value is not None else default


class Config:
    """Settings for one portal process; tests pass overrides to `create_app` instead of subclassing."""

    PORTAL_ENV = _env("PORTAL_ENV", _env("FLASK_ENV", "production"))
    SECRET_KEY = _env("SECRET_KEY", DEV_SECRET_KEY)
    # Key for encrypting secrets at rest (refresh tokens, access tokens). DATA_KEY_PREVIOUS holds
    # comma-separated older keys that can still decrypt while rows are re-encrypted.
    DATA_KEY = _env("DATA_KEY", DEV_DATA_KEY)
    DATA_KEY_PREVIOUS = _env("DATA_KEY_PREVIOUS", "")

    SQLALCHEMY_DATABASE_URI = _env(
        "DATABASE_URL", "sqlite:///" + os.path.join(_BASE_DIR, "instance", "portal.sqlite3")
    )
    SQLALCHEMY_ENGINE_OPTIONS = {}  # connections checked after idling, and MySQL's connect timeout: services.connections
    DB_CONNECT_TIMEOUT = _env_int("DB_CONNECT_TIMEOUT", 5)  # seconds
    SQLITE_BUSY_TIMEOUT = _env_int("SQLITE_BUSY_TIMEOUT", 20)  # seconds a SQLite writer waits for another
    REDIS_URL = _env("REDIS_URL")  # unset: embedded mode, jobs run in a thread of the portal process

    PUBLIC_BASE_URL = _env("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    WECHAT_COMPONENT_APPID = _env("WECHAT_COMPONENT_APPID", "")
    WECHAT_COMPONENT_APPSECRET = _env("WECHAT_COMPONENT_APPSECRET", "")
    WECHAT_COMPONENT_TOKEN = _env("WECHAT_COMPONENT_TOKEN", "")
    WECHAT_COMPONENT_AES_KEY = _env("WECHAT_COMPONENT_AES_KEY", "")
    WECHAT_API_BASE = _env("WECHAT_API_BASE", "https://api.weixin.qq.com")
    WECHAT_MP_BASE = _env("WECHAT_MP_BASE", "https://mp.weixin.qq.com")
    WECHAT_OPEN_BASE = _env("WECHAT_OPEN_BASE", "https://open.weixin.qq.com")
    # "platform" uses modify_domain (domains registered on the platform first); "direct" uses
    # modify_domain_directly. WeChat asks platforms to pick one and never mix them.
    WECHAT_DOMAIN_STRATEGY = _env("WECHAT_DOMAIN_STRATEGY", "platform")
    # How long the template library's lists (gettemplatelist, gettemplatedraftlist) are kept (seconds).
    TEMPLATE_LIST_CACHE_SECONDS = float(_env("TEMPLATE_LIST_CACHE_SECONDS", 300))
    # what a mini-program's tabs read from WeChat (domains, testers, versions...) is shown from a per-app cache
    # this long, so reloading a tab spends none of the app's API quota; 0 reads WeChat on every view
    WECHAT_READ_CACHE_SECONDS = float(_env("WECHAT_READ_CACHE_SECONDS", 60))

    # Waiting for WeChat's post-commit privacy scan before a submit: the longest pause between two checks
    # (get_code_privacy_info), and how long a single submit job waits before it gives up with 61039.
    PRIVACY_SCAN_CHECK_SECONDS = float(_env("PRIVACY_SCAN_CHECK_SECONDS", 5))
    PRIVACY_SCAN_MAX_WAIT_SECONDS = float(_env("PRIVACY_SCAN_MAX_WAIT_SECONDS", 900))

    # Fleet release tuning (seconds unless named otherwise); workers read them from the environment too.
    FLEET_BACKOFF_SECONDS = float(_env("FLEET_BACKOFF_SECONDS", 5))
    FLEET_PRIVACY_RECHECK_SECONDS = float(_env("FLEET_PRIVACY_RECHECK_SECONDS", 5))  # longest pause, as above
    FLEET_STEP_STALE_SECONDS = float(_env("FLEET_STEP_STALE_SECONDS", 600))
    FLEET_QUOTA_TTL = float(_env("FLEET_QUOTA_TTL", 60))
    FLEET_RATE_LIMIT_PAUSE = float(_env("FLEET_RATE_LIMIT_PAUSE", 30))
    FLEET_CALLS_PER_SECOND = _env_int("FLEET_CALLS_PER_SECOND", 50)
    FLEET_MAX_RETRIES = _env_int("FLEET_MAX_RETRIES", 8)
    FLEET_BACKOFF_MAX_SECONDS = float(_env("FLEET_BACKOFF_MAX_SECONDS", 300))
    FLEET_STEP_GRACE_SECONDS = float(_env("FLEET_STEP_GRACE_SECONDS", 30))
    FLEET_STEP_LEASE_SECONDS = float(_env("FLEET_STEP_LEASE_SECONDS", 6))

    # Background jobs: the pauses (seconds, comma-separated) before a failed job's retries, the age of an
    # open audit before the poller asks WeChat about it, and how long a token refresh may hold its lock.
    JOB_RETRY_INTERVALS = tuple(int(s) for s in _env("JOB_RETRY_INTERVALS", "10,60,300").split(","))
    AUDIT_POLL_AFTER_MINUTES = _env_int("AUDIT_POLL_AFTER_MINUTES", 10)
    TOKEN_LOCK_TTL_MS = _env_int("TOKEN_LOCK_TTL_MS", 20_000)

    LOG_FORMAT = _env("LOG_FORMAT", "kv")  # "kv" (key=value lines) or "json" (JSON lines)
    LOG_LEVEL = _env("LOG_LEVEL", "INFO")
    # Reverse proxies in front of the portal whose X-Forwarded-For/-Proto it trusts (1 behind one nginx).
    TRUSTED_PROXY_HOPS = _env_int("TRUSTED_PROXY_HOPS", 0)

    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 2 * 1024 * 1024)
    CALLBACK_MAX_BYTES = _env_int("CALLBACK_MAX_BYTES", 64 * 1024)
    CALLBACK_RATE_LIMIT = _env("CALLBACK_RATE_LIMIT", "600 per minute")  # per source IP, per callback URL
    # Merchant actions that call WeChat, per user and per mini-program (`portal.action_limits`).
    MERCHANT_WECHAT_RATE_LIMIT = _env("MERCHANT_WECHAT_RATE_LIMIT", "30 per minute;300 per hour")
    # "spooled": `success` once the push is written to this host's push spool (a local directory), stored
    # within a fraction of a second by the host's drainer; "stored": once it is committed to the database;
    # "queued": once it is in a Redis stream that a persistent Redis (appendonly yes) keeps.
    CALLBACK_ACKNOWLEDGE = _env("CALLBACK_ACKNOWLEDGE", "spooled")
    CALLBACK_SPOOL_DIR = _env("CALLBACK_SPOOL_DIR")  # default: <instance>/push-spool
    CALLBACK_SPOOL_SYNC_SECONDS = float(_env("CALLBACK_SPOOL_SYNC_SECONDS", 1))  # fdatasync cadence; 0: every push
    CALLBACK_SPOOL_SEGMENT_SECONDS = float(_env("CALLBACK_SPOOL_SEGMENT_SECONDS", 1))  # then a segment is drainable
    CALLBACK_QUEUE_REQUIRE_AOF = _env("CALLBACK_QUEUE_REQUIRE_AOF", "true").lower() not in ("0", "false", "no")
    CALLBACK_DRAIN_IN_PROCESS = _env("CALLBACK_DRAIN_IN_PROCESS", "true").lower() not in ("0", "false", "no")
    # worker.py runs this host's spool drainer as a child process at this nice value (0 to 19).
    CALLBACK_HOST_DRAINER = _env("CALLBACK_HOST_DRAINER", "true").lower() not in ("0", "false", "no")
    CALLBACK_DRAINER_NICE = _env_int("CALLBACK_DRAINER_NICE", 10)
    CALLBACK_CLAIM_IDLE_SECONDS = float(_env("CALLBACK_CLAIM_IDLE_SECONDS", 30))  # then a dead drainer's are taken
    CALLBACK_CONSUMER_IDLE_SECONDS = float(_env("CALLBACK_CONSUMER_IDLE_SECONDS", 3600))  # then forgotten if idle
    LOGIN_RATE_LIMIT = _env("LOGIN_RATE_LIMIT", "10 per minute")  # per IP, and per account and IP
    # Failed logins for one account from one IP, then per IP, before each further failure makes the next
    # attempt wait (2 s, then doubling up to LOGIN_MAX_DELAY_SECONDS); counts are kept for an hour.
    LOGIN_FREE_FAILURES = _env_int("LOGIN_FREE_FAILURES", 10)
    LOGIN_IP_FREE_FAILURES = _env_int("LOGIN_IP_FREE_FAILURES", 30)
    LOGIN_MAX_DELAY_SECONDS = _env_int("LOGIN_MAX_DELAY_SECONDS", 900)
    LOGIN_FAILURE_WINDOW_SECONDS = _env_int("LOGIN_FAILURE_WINDOW_SECONDS", 3600)
    # A login ends after this long without a request, and in any case this long after it began.
    SESSION_IDLE_MINUTES = _env_int("SESSION_IDLE_MINUTES", 120)
    SESSION_MAX_HOURS = _env_int("SESSION_MAX_HOURS", 12)
    # Calls of one key of the token service API (`/api/v1`), in the rate limiter's storage (shared with Redis).
    API_RATE_LIMIT = _env("API_RATE_LIMIT", "600 per minute")
    API_USAGE_FLUSH_SECONDS = float(_env("API_USAGE_FLUSH_SECONDS", 1))  # keys' use counts are written this often
    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI")  # defaults to REDIS_URL or memory
    RATELIMIT_HEADERS_ENABLED = True
    BABEL_DEFAULT_LOCALE = "zh"
    # The zone times are shown in for users who chose none (an IANA name; an unknown one means Asia/Shanghai).
    DEFAULT_TIMEZONE = _env("DEFAULT_TIMEZONE", "Asia/Shanghai")
    LANGUAGES = ("zh", "en")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    # Push forwarding to the operator's systems: the wait for a target's answer, how many of a rule's
    # deliveries (each to another app) are in flight at once, how long a run that sent everything waits
    # for more before it stops, the first pause before a retry (doubling up to the maximum), when a
    # delivery is given up, and whether plain http to a loopback host is accepted as a target (never in
    # production: the sandbox's receivers in development and tests).
    FORWARDING_TIMEOUT_SECONDS = float(_env("FORWARDING_TIMEOUT_SECONDS", 10))
    FORWARDING_CONCURRENCY = _env_int("FORWARDING_CONCURRENCY", 16)
    FORWARDING_LINGER_SECONDS = float(_env("FORWARDING_LINGER_SECONDS", 1.0))
    FORWARDING_RETRY_BASE_SECONDS = float(_env("FORWARDING_RETRY_BASE_SECONDS", 10))
    FORWARDING_RETRY_MAX_SECONDS = float(_env("FORWARDING_RETRY_MAX_SECONDS", 3600))
    FORWARDING_GIVE_UP_HOURS = float(_env("FORWARDING_GIVE_UP_HOURS", 24))
    FORWARDING_ALLOW_LOOPBACK_HTTP = _env("FORWARDING_ALLOW_LOOPBACK_HTTP", "true").lower() not in ("0", "false", "no")
    INVITATION_TTL_HOURS = _env_int("INVITATION_TTL_HOURS", 72)
    PAGE_SIZE = _env_int("PAGE_SIZE", 50)

    @classmethod
    def is_production(cls, settings):
        """Everything but an explicit `PORTAL_ENV=development` is production: a deployment that forgets
        the variable gets the checks, HSTS and secure cookies rather than the development shortcuts."""
        return str(settings.get("PORTAL_ENV") or "production").strip().lower() != "development"

    @classmethod
    def check_production(cls, settings):
        """Raise RuntimeError with a clear message if a production app has a published or short key."""
        if not cls.is_production(settings):
            return
        problems = [problem for name in ("SECRET_KEY", "DATA_KEY") if (problem := _key_problem(name, settings.get(name)))]
        if problems:
            raise RuntimeError(
                "Refusing to start in production: " + "; ".join(problems)
                + ". Set them to long random values (e.g. `python -c 'import secrets;"
                " print(secrets.token_urlsafe(48))'`), or set PORTAL_ENV=development on a development machine."
            )


def _key_problem(name, value):
    if not value:
        return f"{name} is unset"
    if value in PUBLISHED_KEYS:
        return f"{name} is a published development value"
    if len(str(value).encode("utf-8")) < MIN_KEY_BYTES:
        return f"{name} is shorter than {MIN_KEY_BYTES} bytes"
    return None
