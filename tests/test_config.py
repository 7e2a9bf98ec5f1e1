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
