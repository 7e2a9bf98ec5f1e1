"""The WeChat call log is written beside the caller's work, never inside it: a call made while the caller's
own transaction has written still gets its record, and the caller's transaction is left as it was."""

import sqlalchemy as sa

from portal.extensions import db


def _records(app, api):
    with app.app_context():
        return db.session.execute(sa.text("SELECT COUNT(*) FROM wechat_calls WHERE api = :api"),
                                  {"api": api}).scalar()


def test_a_call_made_inside_a_written_transaction_is_recorded_and_the_transaction_kept(platform, make_tenant):
    """On SQLite one connection writes at a time: a record written on a second connection while this thread's
    transaction holds the write lock would wait for a commit that only comes after it, until the busy timeout."""
    from portal.models import Tenant
    from portal.services.wechat import get_client

    app = platform.app
    before = _records(app, "api_get_authorizer_list")
    with app.app_context():
        tenant = Tenant(name="写入中的商户")
        db.session.add(tenant)
        db.session.flush()  # this transaction now writes
        assert get_client().component.get_authorizer_list().total_count == 0
        db.session.commit()
    assert _records(app, "api_get_authorizer_list") == before + 1
    with app.app_context():
        assert db.session.scalar(sa.select(Tenant.name).where(Tenant.name == "写入中的商户")) == "写入中的商户"


def test_a_call_whose_transaction_rolls_back_is_still_recorded(platform):
    from portal.models import Tenant
    from portal.services.wechat import get_client

    app = platform.app
    before = _records(app, "api_get_authorizer_list")
    with app.app_context():
        db.session.add(Tenant(name="作废的商户"))
        db.session.flush()
        get_client().component.get_authorizer_list()
        db.session.rollback()
    assert _records(app, "api_get_authorizer_list") == before + 1  # the call happened, whatever became of the work
    with app.app_context():
        assert db.session.scalar(sa.select(Tenant.id).where(Tenant.name == "作废的商户")) is None
