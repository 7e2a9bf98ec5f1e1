"""The migrations create exactly what the models describe, on SQLite and MariaDB alike."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

SEED_MINIPROGRAM_COLUMNS = {
    "id", "uid", "nick_name", "alias", "token", "head_img", "verify_type_info", "is_show", "user_name",
    "qrcode_url", "business_info", "idc", "principal_name", "signature", "miniprograminfo", "func_info",
    "authorizer_appid", "authorizer_access_token", "authorizer_expires", "authorizer_refresh_token", "create_time",
}
# The seed's `wxuser` columns its code reads and writes (`where type = 1 and appid = …`, the tokens it clears).
SEED_WXUSER_COLUMNS = {"type", "appid", "authorizer_access_token", "authorizer_refresh_token", "authorizer_expires"}
SEED_AUDIT_COLUMNS = {"id", "appid", "auditid", "status", "reason", "create_time"}
SEED_003_AUDIT_COLUMNS = {"template_id", "user_version", "user_desc", "ext_json", "screenshot", "is_release",
                          "release_time", "auditresult_time", "update_time"}


def test_models_and_migrations_agree(app_ctx):
    from portal.extensions import db

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_seed_columns_keep_their_names(app_ctx):
    from portal.extensions import db

    inspector = sa.inspect(db.engine)
    mp_columns = {c["name"] for c in inspector.get_columns("wxminiprograms")}
    audit_columns = {c["name"] for c in inspector.get_columns("wxminiprogram_audit")}
    assert SEED_MINIPROGRAM_COLUMNS <= mp_columns
    assert {"tenant_id", "auth_state"} <= mp_columns
    assert SEED_AUDIT_COLUMNS | SEED_003_AUDIT_COLUMNS <= audit_columns
    indexes = {tuple(i["column_names"]) for i in inspector.get_indexes("wxminiprogram_audit")}
    assert ("appid", "create_time") in indexes
    uniques = [set(u["column_names"]) for u in inspector.get_unique_constraints("wxminiprograms")]
    uniques += [set(i["column_names"]) for i in inspector.get_indexes("wxminiprograms") if i.get("unique")]
    assert {"authorizer_appid"} in uniques
    wxuser_columns = {c["name"] for c in inspector.get_columns("wxuser")}
    assert SEED_WXUSER_COLUMNS | {"tenant_id", "auth_state", "service_type_info", "verify_type_info"} <= wxuser_columns


def test_audit_status_defaults_to_in_review_not_the_seed_default(app_ctx, make_tenant):
    from portal.extensions import db
    from portal.models import Audit, MiniProgram

    mp = MiniProgram(authorizer_appid="wxdefault000000001", tenant_id=make_tenant())
    db.session.add(mp)
    db.session.flush()
    audit = Audit(appid=mp.authorizer_appid, auditid="1", miniprogram_id=mp.id)
    db.session.add(audit)
    db.session.commit()
    assert db.session.execute(sa.text("SELECT status FROM wxminiprogram_audit")).scalar() == 2


def test_mysql_tables_are_innodb_utf8mb4(app_ctx):
    from portal.extensions import db

    if db.engine.dialect.name != "mysql":
        return
    rows = db.session.execute(sa.text(
        "SELECT TABLE_NAME, ENGINE, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
    )).all()
    for name, engine, collation in rows:
        assert engine == "InnoDB", name
        assert collation.startswith("utf8mb4"), name


def test_chinese_and_emoji_round_trip(app_ctx, make_tenant):
    from portal.extensions import db
    from portal.models import MiniProgram

    mp = MiniProgram(authorizer_appid="wxemoji00000000001", nick_name="小店🍜", signature="欢迎光临 ✨",
                     tenant_id=make_tenant())
    db.session.add(mp)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(MiniProgram, mp.id).nick_name == "小店🍜"
