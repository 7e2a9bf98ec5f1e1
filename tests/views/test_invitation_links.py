"""An invitation link's token never reaches a log line or an error page (it would let anyone who reads
them set the invited user's password)."""

import io
import logging
import re

import pytest

from portal.logging_setup import HANDLED_LOGGERS, make_handler
from tests.conftest import post_form


@pytest.fixture
def log_text():
    stream = io.StringIO()
    handler = make_handler("kv", stream)
    for name in HANDLED_LOGGERS:
        logging.getLogger(name).addHandler(handler)
    yield stream.getvalue
    for name in HANDLED_LOGGERS:
        logging.getLogger(name).removeHandler(handler)


def _invitation_path(client, tenant_id):
    page = post_form(client, f"/staff/tenants/{tenant_id}/users/new", {"email": "new@example.com", "mode": "invite"},
                     token_from="/")
    link = re.search(r'value="([^"]+)"[^>]*id="invitation-link"', page.get_data(as_text=True)).group(1)
    path = "/" + link.split("//", 1)[1].split("/", 1)[1]
    return path, path.rsplit("/", 1)[1]


def test_an_unknown_or_used_invitations_error_page_does_not_show_its_token(client):
    token = "Zq3-not-a-real-invitation-token-4821"
    page = client.get("/account/invitation/" + token)
    assert page.status_code == 404
    assert token not in page.get_data(as_text=True)


def test_a_failing_invitation_page_shows_and_logs_no_token(app, client, staff, make_tenant, log_text, monkeypatch):
    from portal.services import accounts as accounts_service

    path, token = _invitation_path(client, make_tenant("Invite Co"))

    def broken(_token):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(accounts_service, "user_for_invitation", broken)
    page = app.test_client().get(path)
    assert page.status_code == 500
    assert token not in page.get_data(as_text=True)
    logs = log_text()
    assert "unhandled error on GET /account/invitation/***" in logs and token not in logs


def test_the_invitation_still_works_after_a_language_switch(app, client, staff, make_tenant):
    path, _token = _invitation_path(client, make_tenant("Invite Co"))
    invited = app.test_client()
    assert "设置密码" in invited.get(path).get_data(as_text=True)
    post_form(invited, "/account/language", {"language": "en", "next": path}, token_from=path)
    assert "Set your password" in invited.get(path).get_data(as_text=True)


def test_access_lines_show_the_invitation_path_without_its_token():
    from portal.logging_setup import StructuredFormatter

    # gunicorn's access logger hands the line's atoms as a dict, already formatted into the message
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, "%(m)s %(U)s %(s)s",
                               ({"m": "GET", "U": "/account/invitation/s3cr3t-T0ken_x", "s": "200"},), None)
    line = StructuredFormatter("kv").format(record)
    assert "/account/invitation/*** 200" in line and "s3cr3t" not in line
