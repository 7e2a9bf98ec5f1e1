"""Secrets at rest: AES-GCM with key ids, rotation through DATA_KEY_PREVIOUS, tamper detection, and each
ciphertext bound to its table, column and row."""

import base64
import logging

import pytest
import sqlalchemy as sa
from Crypto.Cipher import AES

from portal.secretbox import SecretBox, SecretDecryptError, _derive, binding

HERE = binding("wxminiprograms", "authorizer_refresh_token", "wx0000000000000001")


def legacy_enc1(key_text, plaintext):
    """A value in the format written before rows were bound (associated data: the key id only)."""
    key_id, key = _derive(key_text)
    cipher = AES.new(key, AES.MODE_GCM, nonce=b"\x01" * 12)
    cipher.update(key_id.encode("ascii"))
    body, tag = cipher.encrypt_and_digest(plaintext.encode("utf-8"))
    return f"enc1:{key_id}:" + base64.b64encode(b"\x01" * 12 + body + tag).decode("ascii")


def test_values_read_and_written_agree_with_an_independent_aes_gcm():
    """The format is GCM's own: a value sealed by another implementation (pycryptodome, which wrote the
    portal's values before) decrypts, and a value the box writes opens with that implementation."""
    box = SecretBox("k1")
    key_id, key = _derive("k1")
    associated = f"enc2\x00{key_id}\x00{HERE}".encode()
    cipher = AES.new(key, AES.MODE_GCM, nonce=b"\x02" * 12)
    cipher.update(associated)
    body, tag = cipher.encrypt_and_digest("刷新令牌 written elsewhere".encode())
    assert box.decrypt(f"enc2:{key_id}:" + base64.b64encode(b"\x02" * 12 + body + tag).decode(), HERE) \
        == "刷新令牌 written elsewhere"
    raw = base64.b64decode(box.encrypt("written here", HERE).split(":", 2)[2])
    opener = AES.new(key, AES.MODE_GCM, nonce=raw[:12])
    opener.update(associated)
    assert opener.decrypt_and_verify(raw[12:-16], raw[-16:]) == b"written here"
    with pytest.raises(SecretDecryptError):
        box.decrypt(f"enc2:{key_id}:" + base64.b64encode(b"\x02" * 20).decode(), HERE)  # shorter than a tag


def test_round_trip_and_random_nonce():
    box = SecretBox("k1")
    a, b = box.encrypt("refresh-token-值", HERE), box.encrypt("refresh-token-值", HERE)
    assert a != b and a.startswith("enc2:")
    assert box.decrypt(a, HERE) == "refresh-token-值"


def test_a_ciphertext_decrypts_only_where_it_was_bound():
    box = SecretBox("k1")
    stored = box.encrypt("secret", HERE)
    for elsewhere in (binding("wxminiprograms", "authorizer_refresh_token", "wx0000000000000002"),
                      binding("wxminiprograms", "authorizer_access_token", "wx0000000000000001"),
                      binding("unclaimed_authorizers", "authorizer_refresh_token", "wx0000000000000001")):
        with pytest.raises(SecretDecryptError, match="another row or column"):
            box.decrypt(stored, elsewhere)


def test_rotation_keeps_old_rows_readable():
    old = SecretBox("old-key")
    stored = old.encrypt("secret", HERE)
    new = SecretBox("new-key", previous_keys=["old-key"])
    assert new.decrypt(stored, HERE) == "secret"
    assert new.needs_reencryption(stored) and not new.needs_reencryption(new.encrypt("x", HERE))
    with pytest.raises(SecretDecryptError, match="DATA_KEY_PREVIOUS"):
        SecretBox("new-key").decrypt(stored, HERE)


def test_unbound_enc1_values_stay_readable_until_rewritten():
    stored = legacy_enc1("k1", "written before the binding")
    box = SecretBox("k2", previous_keys=["k1"])
    assert box.decrypt(stored, HERE) == "written before the binding"
    assert box.needs_reencryption(stored) and box.needs_reencryption(legacy_enc1("k2", "x"))


def test_tampering_is_detected():
    box = SecretBox("k1")
    stored = box.encrypt("secret", HERE)
    flipped = stored[:-6] + ("A" if stored[-6] != "A" else "B") + stored[-5:]
    with pytest.raises(SecretDecryptError):
        box.decrypt(flipped, HERE)
    with pytest.raises(SecretDecryptError):
        box.decrypt("plain-text", HERE)


def test_token_columns_hold_ciphertext(app_ctx, make_tenant):
    from portal.extensions import db
    from portal.models import MiniProgram

    mp = MiniProgram(authorizer_refresh_token="refreshtoken@@@plain", authorizer_access_token="accesstoken@@@plain",
                     authorizer_appid="wxsecret0000000001", tenant_id=make_tenant())
    db.session.add(mp)
    db.session.commit()
    raw = db.session.execute(sa.text(
        "SELECT authorizer_refresh_token, authorizer_access_token FROM wxminiprograms")).one()
    assert all(v.startswith("enc2:") and "plain" not in v for v in raw)
    db.session.expire_all()
    assert db.session.get(MiniProgram, mp.id).authorizer_refresh_token == "refreshtoken@@@plain"


def test_plaintext_written_past_the_sealed_attribute_is_refused(app_ctx):
    from portal.extensions import db
    from portal.models import ComponentAccount

    table = ComponentAccount.__table__
    with pytest.raises(sa.exc.StatementError, match="ciphertext only"):
        db.session.execute(table.insert().values(component_appid="wxplain", component_verify_ticket="ticket"))
    db.session.rollback()


def move_ciphertext(table, column, from_id, to_id):
    """What someone with write access to the database might do: copy one row's ciphertext into another."""
    from portal.extensions import db

    with db.engine.begin() as conn:
        stored = conn.execute(sa.text(f"SELECT {column} FROM {table} WHERE id = :id"), {"id": from_id}).scalar()
        conn.execute(sa.text(f"UPDATE {table} SET {column} = :v WHERE id = :id"), {"v": stored, "id": to_id})


def test_a_token_moved_to_another_row_reads_as_lost(app_ctx, make_tenant, caplog):
    from portal.extensions import db
    from portal.models import MiniProgram

    tenant = make_tenant()
    a = MiniProgram(authorizer_appid="wxmoved00000000001", tenant_id=tenant, authorizer_refresh_token="token-of-a")
    b = MiniProgram(authorizer_appid="wxmoved00000000002", tenant_id=tenant, authorizer_refresh_token="token-of-b")
    db.session.add_all([a, b])
    db.session.commit()
    move_ciphertext("wxminiprograms", "authorizer_refresh_token", a.id, b.id)
    db.session.rollback()  # a new transaction sees the moved value (REPEATABLE READ)
    with caplog.at_level(logging.ERROR, logger="portal.secrets"):
        assert db.session.get(MiniProgram, b.id).authorizer_refresh_token is None
        assert db.session.get(MiniProgram, a.id).authorizer_refresh_token == "token-of-a"
    [record] = caplog.records
    assert f"wxminiprograms.authorizer_refresh_token of row id {b.id} cannot be decrypted" in record.getMessage()
    assert "token-of-a" not in record.getMessage()


def test_a_push_payload_moved_to_another_row_does_not_decrypt(app_ctx):
    from portal.extensions import db
    from portal.models import CallbackEvent

    rows = [CallbackEvent(source="auth", kind="unauthorized", create_time=1, dedup_key=f"k{i}",
                          payload=f"<xml>{i}</xml>") for i in (1, 2)]
    db.session.add_all(rows)
    db.session.commit()
    ids = [row.id for row in rows]
    move_ciphertext("callback_events", "payload", ids[0], ids[1])
    db.session.rollback()  # a new transaction sees the moved value (REPEATABLE READ)
    assert db.session.get(CallbackEvent, ids[0]).payload == "<xml>1</xml>"
    with pytest.raises(SecretDecryptError, match=f"callback_events.payload of row id {ids[1]} cannot be decrypted"):
        db.session.get(CallbackEvent, ids[1]).payload  # noqa: B018 - the read is what fails
