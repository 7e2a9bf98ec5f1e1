"""`flask rotate-data-key`: every encrypted column re-encrypted under the current key and bound to its row,
counted per column, so that the old key can be removed; failures reported by row id, never by contents."""

import json
import re

import pytest
import sqlalchemy as sa

from tests.test_secretbox import legacy_enc1, move_ciphertext

OLD, NEW = "old-data-key-0123456789", "new-data-key-9876543210"
SEALED = {  # table: sealed attributes
    "callback_events": ("payload",),
    "fast_registrations": ("details_json",),
    "fleet_releases": ("secret_options",),
    "forward_rules": ("secret",),
    "job_runs": ("secret_params",),
    "unclaimed_authorizers": ("refresh_token",),
    "weixin_account": ("component_access_token", "component_verify_ticket"),
    "wxminiprograms": ("authorizer_access_token", "authorizer_refresh_token"),
    "wxuser": ("authorizer_access_token", "authorizer_refresh_token"),
}
COLUMN = {"details_json": "details"}  # a sealed attribute whose table column is named otherwise


def _write_rows(app, make_tenant, apps=3, pushes=4):
    """Rows of every sealed kind under the app's key, plus one push in the unbound enc1 format; returns
    {(table, id, column): plaintext}."""
    from portal.extensions import db
    from portal.models import (
        CallbackEvent,
        ComponentAccount,
        FastRegistration,
        FleetRelease,
        ForwardRule,
        JobRun,
        MiniProgram,
        OfficialAccount,
        UnclaimedAuthorizer,
    )

    with app.app_context():
        tenant = make_tenant()
        rows = [MiniProgram(authorizer_appid=f"wxrotate{i:010d}", tenant_id=tenant, authorizer_access_token=f"at-{i}",
                            authorizer_refresh_token=f"rt-{i}") for i in range(apps)]
        rows += [CallbackEvent(source="message", kind="weapp_audit_success", create_time=i, dedup_key=f"rotate:{i}",
                               payload=f"<xml><n>{i}</n></xml>") for i in range(pushes)]
        rows += [ComponentAccount(component_appid="wxcomponentrotate", component_verify_ticket="ticket@@@1",
                                  component_access_token="component-token-1"),
                 UnclaimedAuthorizer(authorizer_appid="wxunclaimedrotate1", refresh_token="unclaimed-rt"),
                 OfficialAccount(appid="wxoarotate000001", tenant_id=tenant, authorizer_access_token="oa-at",
                                 authorizer_refresh_token="oa-rt"),
                 FastRegistration(ref="rotate-registration", tenant_id=tenant, kind="enterprise", name="Rotate Co",
                                  details_json='{"legal_persona_wechat": "someone"}'),
                 ForwardRule(name="rotate", url="https://shop.example.com/pushes", secret="rule-secret")]
        db.session.add_all(rows)
        db.session.commit()
        rows.append(JobRun(kind="submit_audit", key=f"submit_audit:{rows[0].id}", miniprogram_id=rows[0].id,
                           secret_params='{"version_desc": "reviewer / pass"}'))
        rows.append(FleetRelease(template_id=1, user_version="1.0.0",
                                 secret_options='{"version_desc": "reviewer / pass"}'))
        db.session.add_all(rows[-2:])
        db.session.commit()
        expected = {}
        for row in rows:
            for column in SEALED[row.__tablename__]:
                expected[(row.__tablename__, row.id, column)] = getattr(row, column)
        legacy = CallbackEvent(source="auth", kind="unauthorized", create_time=9, dedup_key="rotate:legacy")
        db.session.add(legacy)
        db.session.commit()
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE callback_events SET payload = :v WHERE id = :id"),
                         {"v": legacy_enc1(OLD, "<xml>legacy</xml>"), "id": legacy.id})
        expected[("callback_events", legacy.id, "payload")] = "<xml>legacy</xml>"
    return expected


def _stored(app):
    from portal.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        return {(table, row_id, column): value for table, columns in SEALED.items() for column in columns
                for row_id, value in conn.execute(sa.text(f"SELECT id, {COLUMN.get(column, column)} FROM {table}"))
                if value}


def _read(app, keys):
    """Every value read back through the models, as the application reads it."""
    from portal.extensions import db
    from portal.models import (
        CallbackEvent,
        ComponentAccount,
        FastRegistration,
        FleetRelease,
        ForwardRule,
        JobRun,
        MiniProgram,
        OfficialAccount,
        UnclaimedAuthorizer,
    )

    models = {m.__tablename__: m for m in (CallbackEvent, ComponentAccount, FastRegistration, FleetRelease,
                                           ForwardRule, JobRun, MiniProgram, OfficialAccount, UnclaimedAuthorizer)}
    with app.app_context():
        return {(table, row_id, column): getattr(db.session.get(models[table], row_id), column)
                for table, row_id, column in keys}


def _counts(output):
    """{"table.column": (rewritten, current, failed)} from the command's report."""
    found = re.findall(r"^\s+(\S+)\s+rewritten\s+(\d+)\s+already current\s+(\d+)\s+failed\s+(\d+)$", output, re.M)
    return {name: tuple(map(int, numbers)) for name, *numbers in found}


def test_rotation_rewrites_every_column_so_the_old_key_can_be_removed(make_app, make_tenant):
    expected = _write_rows(make_app(DATA_KEY=OLD), make_tenant)
    before = _stored(make_app(DATA_KEY=OLD))
    assert all(v.startswith("enc2:") or v.startswith("enc1:") for v in before.values())

    rotating = make_app(DATA_KEY=NEW, DATA_KEY_PREVIOUS=OLD)
    result = rotating.test_cli_runner().invoke(args=["rotate-data-key", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert _counts(result.output) == {
        "callback_events.payload": (5, 0, 0), "fast_registrations.details_json": (1, 0, 0),
        "fleet_releases.secret_options": (1, 0, 0), "forward_rules.secret": (1, 0, 0),
        "job_runs.secret_params": (1, 0, 0),
        "unclaimed_authorizers.refresh_token": (1, 0, 0),
        "weixin_account.component_access_token": (1, 0, 0), "weixin_account.component_verify_ticket": (1, 0, 0),
        "wxminiprograms.authorizer_access_token": (3, 0, 0), "wxminiprograms.authorizer_refresh_token": (3, 0, 0),
        "wxuser.authorizer_access_token": (1, 0, 0), "wxuser.authorizer_refresh_token": (1, 0, 0)}
    assert "can be removed" in result.output

    only_new = make_app(DATA_KEY=NEW)
    after = _stored(only_new)
    assert after.keys() == before.keys() and not set(after.values()) & set(before.values())
    new_key_id = re.search(r"Current data key: (\w+)", result.output).group(1)
    assert all(v.startswith(f"enc2:{new_key_id}:") for v in after.values())
    assert _read(only_new, expected) == expected

    again = rotating.test_cli_runner().invoke(args=["rotate-data-key"])
    assert again.exit_code == 0, again.output
    assert {counts[0] for counts in _counts(again.output).values()} == {0}
    assert sum(counts[1] for counts in _counts(again.output).values()) == len(expected)
    assert _stored(only_new) == after


def test_values_that_cannot_be_decrypted_are_reported_by_row_id_and_the_run_goes_on(make_app, make_tenant):
    old = make_app(DATA_KEY=OLD)
    expected = _write_rows(old, make_tenant)
    pushes = sorted(row_id for table, row_id, _column in expected if table == "callback_events")
    apps = sorted(row_id for table, row_id, _column in expected if table == "wxminiprograms")
    with old.app_context():
        move_ciphertext("callback_events", "payload", pushes[0], pushes[1])
        move_ciphertext("wxminiprograms", "authorizer_refresh_token", apps[0], apps[2])
    stored = _stored(old)

    result = make_app(DATA_KEY=NEW, DATA_KEY_PREVIOUS=OLD).test_cli_runner().invoke(args=["rotate-data-key"])
    assert result.exit_code == 1
    counts = _counts(result.output)
    assert counts["callback_events.payload"] == (4, 0, 1)
    assert counts["wxminiprograms.authorizer_refresh_token"] == (2, 0, 1)
    assert counts["wxminiprograms.authorizer_access_token"] == (3, 0, 0)
    assert f"callback_events.payload, row ids {pushes[1]}\n" in result.output
    assert f"wxminiprograms.authorizer_refresh_token, row ids {apps[2]}\n" in result.output
    for value in list(expected.values()) + list(stored.values()):
        assert value not in result.output
    after = _stored(old)
    assert after[("callback_events", pushes[1], "payload")] == stored[("callback_events", pushes[1], "payload")]


class PowerCut(Exception):
    pass


def test_an_interrupted_rotation_is_finished_by_running_it_again(make_app, make_tenant, monkeypatch):
    from portal.secretbox import SecretBox

    expected = _write_rows(make_app(DATA_KEY=OLD), make_tenant, apps=5, pushes=7)
    rotating = make_app(DATA_KEY=NEW, DATA_KEY_PREVIOUS=OLD)
    encrypt, calls = SecretBox.encrypt, []

    def crash_on_the_sixth(self, plaintext, bound_to):
        calls.append(bound_to)
        if len(calls) == 6:
            raise PowerCut
        return encrypt(self, plaintext, bound_to)

    monkeypatch.setattr(SecretBox, "encrypt", crash_on_the_sixth)
    with pytest.raises(PowerCut):
        rotating.test_cli_runner().invoke(args=["rotate-data-key", "--batch-size", "2"], catch_exceptions=False)
    monkeypatch.setattr(SecretBox, "encrypt", encrypt)
    result = rotating.test_cli_runner().invoke(args=["rotate-data-key", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    counts = _counts(result.output)
    # callback_events comes first: its first two batches (4 rows) were committed before the interruption.
    assert counts["callback_events.payload"] == (4, 4, 0)
    assert sum(rewritten + current for rewritten, current, _failed in counts.values()) == len(expected)
    assert _read(make_app(DATA_KEY=NEW), expected) == expected


def test_notes_left_in_plain_text_by_migration_0011_are_sealed(make_app, make_tenant):
    """A submission or fleet release still active at the upgrade to 0011 kept its reviewers' note in the plain
    parameters, and had no `ref`: the command seals the note into the row's sealed column."""
    from portal.extensions import db
    from portal.models import FleetRelease, JobRun, MiniProgram

    app = make_app(DATA_KEY=NEW)
    note = "测试账号 reviewer / pass-1234"
    with app.app_context():
        mp = MiniProgram(authorizer_appid="wxoldnote0000001", tenant_id=make_tenant())
        db.session.add(mp)
        db.session.commit()
        run = JobRun(kind="submit_audit", key=f"submit_audit:{mp.id}", miniprogram_id=mp.id, state="running")
        release = FleetRelease(template_id=1, user_version="1.0.0")
        done = JobRun(kind="commit", key=f"commit:{mp.id}", miniprogram_id=mp.id, state="done", params='{"a": 1}')
        db.session.add_all([run, release, done])
        db.session.commit()
        ids = run.id, release.id
        with db.engine.begin() as conn:  # rows as written before 0011: the note in the plain JSON, no ref
            conn.execute(sa.text("UPDATE job_runs SET ref = NULL, params = :p WHERE id = :id"),
                         {"p": json.dumps({"item_list": None, "version_desc": note}, ensure_ascii=False),
                          "id": ids[0]})
            conn.execute(sa.text("UPDATE fleet_releases SET ref = NULL, options = :o WHERE id = :id"),
                         {"o": json.dumps({"max_concurrency": 5, "version_desc": note}), "id": ids[1]})

    result = app.test_cli_runner().invoke(args=["rotate-data-key"])
    assert result.exit_code == 0, result.output
    assert "job_runs.params 1, fleet_releases.options 1" in result.output and note not in result.output
    with app.app_context(), db.engine.connect() as conn:
        raw = conn.execute(sa.text("SELECT params, ref, secret_params FROM job_runs WHERE id = :id"),
                           {"id": ids[0]}).one()
        raw_fleet = conn.execute(sa.text("SELECT options, ref, secret_options FROM fleet_releases WHERE id = :id"),
                                 {"id": ids[1]}).one()
    for plain, ref, sealed in (raw, raw_fleet):
        assert "version_desc" not in plain and "pass-1234" not in plain and "pass-1234" not in sealed
        assert ref and sealed.startswith("enc2:")
    with app.app_context():
        assert db.session.get(JobRun, ids[0]).get_params() == {"item_list": None, "version_desc": note}
        assert db.session.get(FleetRelease, ids[1]).get_options() == {"max_concurrency": 5, "version_desc": note}
    again = app.test_cli_runner().invoke(args=["rotate-data-key"])
    assert "job_runs.params 0, fleet_releases.options 0" in again.output
