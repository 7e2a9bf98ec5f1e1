"""Configuration: production refuses development secrets; the environment names are honoured."""

import subprocess
import sys

import pytest

from config import DEV_DATA_KEY, DEV_SECRET_KEY


def test_production_refuses_default_secret_key(database_url):
    from portal import create_app

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"PORTAL_ENV": "production", "SECRET_KEY": DEV_SECRET_KEY, "DATA_KEY": "x" * 40,
                    "SQLALCHEMY_DATABASE_URI": database_url})


def test_production_refuses_default_data_key(database_url):
    from portal import create_app

    with pytest.raises(RuntimeError, match="DATA_KEY"):
        create_app({"PORTAL_ENV": "production", "SECRET_KEY": "y" * 40, "DATA_KEY": DEV_DATA_KEY,
                    "SQLALCHEMY_DATABASE_URI": database_url})


def test_production_starts_with_real_secrets(database_url):
    from portal import create_app

    app = create_app({"PORTAL_ENV": "production", "SECRET_KEY": "y" * 40, "DATA_KEY": "z" * 40,
                      "SQLALCHEMY_DATABASE_URI": database_url})
    assert app.config["PORTAL_ENV"] == "production"


def test_environment_variables_are_read(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": "sqlite:///" + str(tmp_path / "x.db"),
           "WECHAT_API_BASE": "http://127.0.0.1:9/api", "WECHAT_COMPONENT_APPID": "wxcomponent0000001",
           "PORTAL_ENV": "production", "SECRET_KEY": "", "DATA_KEY": "k" * 40}
    code = "import config; print(config.Config.WECHAT_API_BASE, config.Config.WECHAT_COMPONENT_APPID)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["http://127.0.0.1:9/api", "wxcomponent0000001"]
    refuse = "import wsgi"
    result = subprocess.run([sys.executable, "-c", refuse], env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "Refusing to start in production" in result.stderr


def test_a_redis_unix_socket_serves_the_rate_limiter_too(database_url, tmp_path):
    """REDIS_URL may name a unix socket (redis-py's unix://); the rate limiter's storage, derived from it,
    is spelled redis+unix:// for the limits package, and counts in that same Redis."""
    import shutil
    import time

    import redis as redis_lib

    from portal import create_app
    from portal.extensions import limiter

    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    socket_path = tmp_path / "redis.sock"
    proc = subprocess.Popen([server, "--port", "0", "--unixsocket", str(socket_path), "--save", "",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while not socket_path.exists() and time.time() < deadline:
            time.sleep(0.05)
        url = f"unix://{socket_path}?db=0"
        app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "s" * 40, "DATA_KEY": "d" * 40,
                          "REDIS_URL": url, "RATELIMIT_STORAGE_URI": None, "TESTING": True})
        assert app.config["RATELIMIT_STORAGE_URI"] == "redis+" + url
        with app.app_context():
            assert limiter.limiter.hit(_one_per_minute(), "probe")
        assert any(b"probe" in key for key in redis_lib.Redis.from_url(url).keys("*"))
    finally:
        proc.terminate()
        proc.wait(10)


def _one_per_minute():
    from limits import parse

    return parse("1/minute")
