"""Simplified Chinese by default, English on request, and no string left untranslated."""

import os
import subprocess
import sys

from babel.messages.pofile import read_po

from tests.conftest import post_form

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_language_switch_for_visitors(client):
    assert "登录" in client.get("/account/login").get_data(as_text=True)
    post_form(client, "/account/language", {"language": "en", "next": "/account/login"})
    page = client.get("/account/login").get_data(as_text=True)
    assert "Log in" in page and 'lang="en"' in page
    post_form(client, "/account/language", {"language": "zh", "next": "/account/login"})
    assert 'lang="zh-CN"' in client.get("/account/login").get_data(as_text=True)


def test_language_choice_is_saved_for_the_user(app, make_user, login_as):
    make_user(role="staff", email="boss@example.com")
    first = app.test_client()
    login_as("boss@example.com", test_client=first)
    post_form(first, "/account/language", {"language": "en", "next": "/"}, token_from="/")
    second = app.test_client()
    login_as("boss@example.com", test_client=second)
    assert "Platform overview" in second.get("/").get_data(as_text=True)


def test_unknown_language_is_ignored(client):
    post_form(client, "/account/language", {"language": "xx", "next": "/account/login"})
    assert 'lang="zh-CN"' in client.get("/account/login").get_data(as_text=True)


def test_every_message_has_a_chinese_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([os.path.join(os.path.dirname(sys.executable), "pybabel"), "extract",
                    "-F", "portal/translations/babel.cfg", "-k", "_l", "-o", str(pot), "portal"],
                   cwd=ROOT, check=True)
    with open(pot, "rb") as fh:
        wanted = {m.id for m in read_po(fh) if m.id}
    with open(os.path.join(ROOT, "portal/translations/zh/LC_MESSAGES/messages.po"), "rb") as fh:
        catalog = read_po(fh)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy and
                  (all(m.string) if isinstance(m.string, tuple) else True)}
    missing = sorted(str(x) for x in wanted - translated)
    assert missing == [], f"{len(missing)} untranslated; run `make extract-messages` and translate them"
