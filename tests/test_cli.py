"""Operator commands: staff accounts without passwords on the command line, idempotent demo data."""

import json
import os


def test_create_staff_takes_the_password_from_the_environment(app, login_as, monkeypatch):
    monkeypatch.setenv("PORTAL_STAFF_PASSWORD", "a-long-staff-password")
    result = app.test_cli_runner().invoke(args=["create-staff", "--email", "ops@example.com"])
    assert result.exit_code == 0, result.output
    assert login_as("ops@example.com", password="a-long-staff-password").status_code == 302


def test_create_staff_rejects_weak_password_and_duplicates(app, monkeypatch):
    runner = app.test_cli_runner()
    monkeypatch.setenv("PORTAL_STAFF_PASSWORD", "short")
    assert runner.invoke(args=["create-staff", "--email", "ops@example.com"]).exit_code != 0
    monkeypatch.setenv("PORTAL_STAFF_PASSWORD", "a-long-staff-password")
    assert runner.invoke(args=["create-staff", "--email", "ops@example.com"]).exit_code == 0
    again = runner.invoke(args=["create-staff", "--email", "OPS@example.com"])
    assert again.exit_code != 0 and "已存在" in again.output


def test_create_staff_prompts_when_no_environment(app, monkeypatch):
    monkeypatch.delenv("PORTAL_STAFF_PASSWORD", raising=False)
    result = app.test_cli_runner().invoke(args=["create-staff", "--email", "p@example.com"],
                                          input="prompted-password\nprompted-password\n")
    assert result.exit_code == 0, result.output


def test_demo_data_is_idempotent_and_logins_work(make_app, tmp_path, login_as):
    app = make_app()
    app.instance_path = str(tmp_path)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo-data"])
    assert first.exit_code == 0, first.output
    assert runner.invoke(args=["demo-data"]).exit_code == 0
    logins = json.load(open(os.path.join(tmp_path, "demo-logins.json")))
    assert len(logins) == 3
    for email, password in logins.items():
        assert email in first.output and password in first.output
        assert login_as(email, password=password, test_client=app.test_client()).status_code == 302
    from portal.models import Tenant

    with app.app_context():
        assert Tenant.query.count() == 2
