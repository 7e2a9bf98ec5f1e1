"""Secrets at rest: AES-GCM with key ids, rotation through DATA_KEY_PREVIOUS, tamper detection."""

import pytest
import sqlalchemy as sa

from portal.secretbox import SecretBox, SecretDecryptError


def test_round_trip_and_random_nonce():
    box = SecretBox("k1")
    a, b = box.encrypt("refresh-token-值"), box.encrypt("refresh-token-值")
    assert a != b and a.startswith("enc1:")
    assert box.decrypt(a) == "refresh-token-值"


def test_rotation_keeps_old_rows_readable():
    old = SecretBox("old-key")
    stored = old.encrypt("secret")
    new = SecretBox("new-key", previous_keys=["old-key"])
    assert new.decrypt(stored) == "secret"
    assert new.needs_reencryption(stored) and not new.needs_reencryption(new.encrypt("x"))
    with pytest.raises(SecretDecryptError, match="DATA_KEY_PREVIOUS"):
        SecretBox("new-key").decrypt(stored)


def test_tampering_is_detected():
    box = SecretBox("k1")
    stored = box.encrypt("secret")
    flipped = stored[:-6] + ("A" if stored[-6] != "A" else "B") + stored[-5:]
    with pytest.raises(SecretDecryptError):
        box.decrypt(flipped)
    with pytest.raises(SecretDecryptError):
        box.decrypt("plain-text")


def test_token_columns_hold_ciphertext(app_ctx, make_tenant):
    from portal.extensions import db
    from portal.models import MiniProgram

    mp = MiniProgram(authorizer_appid="wxsecret0000000001", tenant_id=make_tenant(),
                     authorizer_refresh_token="refreshtoken@@@plain", authorizer_access_token="accesstoken@@@plain")
    db.session.add(mp)
    db.session.commit()
    raw = db.session.execute(sa.text(
        "SELECT authorizer_refresh_token, authorizer_access_token FROM wxminiprograms")).one()
    assert all(v.startswith("enc1:") and "plain" not in v for v in raw)
    db.session.expire_all()
    assert db.session.get(MiniProgram, mp.id).authorizer_refresh_token == "refreshtoken@@@plain"
