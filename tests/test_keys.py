"""Published or short keys: gunicorn, `worker.py` and `flask` commands with no PORTAL_ENV count as
production and refuse them; only an explicit PORTAL_ENV=development accepts them, and `make run` sets it
with keys of its own, generated per install under instance/."""

import json
import os
import subprocess
import sys

import pytest

from config import DEV_DATA_KEY, DEV_SECRET_KEY

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STRONG = "k" * 40


def _env(tmp_path, **values):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": "sqlite:///" + str(tmp_path / "x.db")}
    env.update(values)
    return env


def _run(args, env):
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_gunicorns_app_without_portal_env_refuses_the_published_keys(tmp_path):
    result = _run([sys.executable, "-c", "import wsgi"], _env(tmp_path))
    assert result.returncode != 0 and "Refusing to start in production" in result.stderr
    assert "SECRET_KEY is a published development value" in result.stderr


def test_gunicorn_with_the_project_config_refuses_them(tmp_path):
    result = _run([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--check-config", "wsgi:app"],
                  _env(tmp_path))
    assert result.returncode != 0 and "Refusing to start in production" in result.stdout + result.stderr


def test_the_worker_without_portal_env_refuses_them(tmp_path):
    result = _run([sys.executable, "worker.py"], _env(tmp_path, REDIS_URL="redis://127.0.0.1:9/0"))
    assert result.returncode != 0 and "Refusing to start in production" in result.stderr


def test_flask_commands_without_portal_env_refuse_them(tmp_path):
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    result = _run([flask, "--app", "wsgi", "check-config"], _env(tmp_path))
    assert result.returncode != 0 and "Refusing to start in production" in result.stderr


@pytest.mark.parametrize("name", ["SECRET_KEY", "DATA_KEY"])
def test_a_short_key_is_refused(database_url, name):
    from portal import create_app

    settings = {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": STRONG, "DATA_KEY": STRONG}
    settings[name] = "r" * 31
    with pytest.raises(RuntimeError, match=f"{name} is shorter than 32 bytes"):
        create_app(settings)
    settings[name] = "r" * 32
    assert create_app(settings).config["PORTAL_ENV"] == "production"


def test_only_an_explicit_development_mode_accepts_the_development_keys(database_url):
    from portal import create_app

    settings = {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": DEV_SECRET_KEY, "DATA_KEY": DEV_DATA_KEY}
    for env in (None, "", "staging", "production"):
        with pytest.raises(RuntimeError, match="Refusing to start"):
            create_app(dict(settings, PORTAL_ENV=env))
    assert create_app(dict(settings, PORTAL_ENV="development")).config["SECRET_KEY"] == DEV_SECRET_KEY


def test_make_run_is_development_mode_with_keys_of_its_own(tmp_path, monkeypatch, database_url):
    from portal import create_app, devrun

    monkeypatch.setattr(devrun, "INSTANCE", str(tmp_path))
    for name in ("PORTAL_ENV", "SECRET_KEY", "DATA_KEY"):
        monkeypatch.delenv(name, raising=False)
    creds = devrun.demo_credentials()
    assert devrun.demo_credentials() == creds  # kept like the demo logins
    assert all(len(creds[name]) >= 32 and creds[name] not in (DEV_SECRET_KEY, DEV_DATA_KEY)
               for name in ("SECRET_KEY", "DATA_KEY"))
    assert oct(os.stat(tmp_path / "demo-credentials.json").st_mode & 0o777) == "0o600"
    settings = devrun.dev_settings(creds, "http://127.0.0.1:5000", "http://127.0.0.1:8700")
    assert settings["PORTAL_ENV"] == "development"
    app = create_app(dict(settings, SQLALCHEMY_DATABASE_URI=database_url))
    assert app.config["SECRET_KEY"] == creds["SECRET_KEY"]
    with open(os.path.join(ROOT, "Makefile"), encoding="utf-8") as fh:
        assert "PORTAL_ENV=development $(PY) -m portal.devrun" in fh.read()


def test_an_older_demo_credentials_file_gets_keys_added(tmp_path, monkeypatch):
    from portal import devrun

    monkeypatch.setattr(devrun, "INSTANCE", str(tmp_path))
    old = {"WECHAT_COMPONENT_APPID": "wx0123456789abcdef", "SECRET_KEY": "short"}
    (tmp_path / "demo-credentials.json").write_text(json.dumps(old))
    creds = devrun.demo_credentials()
    assert creds["WECHAT_COMPONENT_APPID"] == "wx0123456789abcdef"  # the sandbox's component stays the same
    assert len(creds["SECRET_KEY"]) >= 32 and len(creds["DATA_KEY"]) >= 32
    assert json.loads((tmp_path / "demo-credentials.json").read_text()) == creds


def test_generated_credentials_reach_the_sandbox_whatever_they_begin_with(tmp_path, monkeypatch):
    """A value that begins with "-" (as a URL-safe random token may) is still the option's value on the sandbox's
    command line, not taken for an option of its own."""
    from portal import devrun
    from sandbox.__main__ import parse_args

    monkeypatch.setattr(devrun, "INSTANCE", str(tmp_path))
    creds = dict(devrun.demo_credentials(), WECHAT_COMPONENT_TOKEN="-CQRd_fgyuy15ur2",
                 WECHAT_COMPONENT_APPSECRET="--secret")
    args = parse_args(devrun.sandbox_command(creds, "http://127.0.0.1:5000", 8700)[3:])
    assert (args.component_token, args.component_secret) == ("-CQRd_fgyuy15ur2", "--secret")
    assert devrun.demo_credentials()["WECHAT_COMPONENT_TOKEN"].isalnum()  # WeChat's token: letters and digits
