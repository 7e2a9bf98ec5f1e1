"""`flask` commands for operators: staff accounts, demo data, configuration checks.

Passwords never come from command-line arguments (they would land in shell history and `ps`): they come
from a prompt or an environment variable.
"""

import json
import logging
import os
import secrets
import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.errors import PortalError
from portal.extensions import db
from portal.models import Tenant, User
from portal.services import accounts as accounts_service
from portal.services import tenants as tenants_service
from portal.timeutil import is_known_zone

log = logging.getLogger("portal.cli")


@click.command("create-staff")
@click.option("--email", required=True, help="Login email of the staff user.")
@click.option("--name", default=None, help="Display name.")
@with_appcontext
def create_staff(email, name):
    """Create a platform staff user. Password: $PORTAL_STAFF_PASSWORD, else asked at a prompt."""
    password = os.environ.get("PORTAL_STAFF_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts_service.create_staff_user(email, password, name=name)
    except PortalError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Staff user {user.email} created.")


DEMO_TENANTS = (("示例餐饮有限公司", "merchant-a@example.com"), ("Demo Retail Ltd.", "merchant-b@example.com"))
DEMO_STAFF = "staff@example.com"


def _demo_passwords(path):
    """Random demo passwords, generated once and kept in instance/ so repeated runs print the same."""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    logins = {email: secrets.token_urlsafe(9) for email in [DEMO_STAFF] + [m for _, m in DEMO_TENANTS]}
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as fh:
        json.dump(logins, fh)
    return logins


@click.command("demo-data")
@with_appcontext
def demo_data():
    """Load demo data (one staff user, two tenants, a merchant user each) and print the logins."""
    logins = _demo_passwords(os.path.join(current_app.instance_path, "demo-logins.json"))
    staff = User.query.filter_by(email=DEMO_STAFF).one_or_none()
    if staff is None:
        staff = accounts_service.create_staff_user(DEMO_STAFF, logins[DEMO_STAFF], name="Demo Staff")
    for tenant_name, merchant_email in DEMO_TENANTS:
        tenant = Tenant.query.filter_by(name=tenant_name).one_or_none()
        if tenant is None:
            tenant = tenants_service.create_tenant(staff, name=tenant_name, contact_email=merchant_email)
        if User.query.filter_by(email=merchant_email).one_or_none() is None:
            accounts_service.create_merchant_user(tenant, merchant_email, staff, name=tenant_name,
                                                  password=logins[merchant_email])
    db.session.commit()
    click.echo("Demo logins:")
    for email, password in logins.items():
        click.echo(f"  {email:28} {password}")


@click.command("check-config")
@with_appcontext
def check_config():
    """Print the effective configuration (secrets masked) and what is missing for WeChat."""
    cfg = current_app.config
    secret = {"SECRET_KEY", "DATA_KEY", "DATA_KEY_PREVIOUS", "WECHAT_COMPONENT_APPSECRET",
              "WECHAT_COMPONENT_TOKEN", "WECHAT_COMPONENT_AES_KEY"}
    names = ["PORTAL_ENV", "DATABASE_URL", "REDIS_URL", "PUBLIC_BASE_URL", "WECHAT_COMPONENT_APPID",
             "WECHAT_API_BASE", "WECHAT_MP_BASE", "WECHAT_OPEN_BASE", *sorted(secret)]
    for name in names:
        key = "SQLALCHEMY_DATABASE_URI" if name == "DATABASE_URL" else name
        value = cfg.get(key)
        shown = ("set" if value else "unset") if name in secret else (value or "unset")
        click.echo(f"{name:28} {shown}")
    if len(cfg.get("WECHAT_COMPONENT_AES_KEY") or "") not in (0, 43):
        raise click.ClickException("WECHAT_COMPONENT_AES_KEY must be the 43-character EncodingAESKey.")
    click.echo(f"{'DEFAULT_TIMEZONE':28} {cfg.get('DEFAULT_TIMEZONE')}")
    if not is_known_zone(cfg.get("DEFAULT_TIMEZONE")):
        raise click.ClickException("DEFAULT_TIMEZONE must be an IANA zone such as Asia/Shanghai "
                                   "(until it is, times are shown in Asia/Shanghai).")
    acknowledge = cfg.get("CALLBACK_ACKNOWLEDGE")
    click.echo(f"{'CALLBACK_ACKNOWLEDGE':28} {acknowledge}")
    if acknowledge not in ("stored", "spooled", "queued"):
        raise click.ClickException("CALLBACK_ACKNOWLEDGE must be stored, spooled or queued.")
    if acknowledge == "spooled":
        from portal.services.pushes.spool import spool_dir

        directory = spool_dir(current_app)
        click.echo(f"{'CALLBACK_SPOOL_DIR':28} {directory}")
        try:
            os.makedirs(directory, exist_ok=True)
            probe = os.path.join(directory, f".probe-{os.getpid()}")
            with open(probe, "wb") as stream:
                stream.write(b"x")
            os.unlink(probe)
        except OSError as exc:
            raise click.ClickException(f"CALLBACK_SPOOL_DIR cannot be written: {exc}") from None


@click.command("refresh-tokens")
@with_appcontext
def refresh_tokens():
    """Refresh the component token and authorizer tokens that expire within 30 minutes."""
    from portal.services.tokens import refresh_expiring_tokens
    from portal.services.wechat import get_client

    click.echo(json.dumps(refresh_expiring_tokens(get_client().tokens)))


@click.command("sync-authorizers")
@with_appcontext
def sync_authorizers():
    """Re-read refresh tokens from WeChat's authorizer list; mark unauthorized the apps it no longer
    lists, note the ones the portal lacks for staff to assign, and store changed permission sets."""
    from portal.models.authorizer_sync import ORIGIN_COMMAND
    from portal.services.authorizers import sync_authorizers as sync

    click.echo(json.dumps(sync(origin=ORIGIN_COMMAND)))


@click.command("drain-pushes")
@click.option("--claim-idle", default=None, type=float,
              help="Take over entries another drainer has held this many seconds (default CALLBACK_CLAIM_IDLE_SECONDS).")
@click.option("--follow", is_flag=True,
              help="Keep draining as pushes arrive, as this host's drainer (the one worker.py runs).")
@click.option("--nice", default=0, type=click.IntRange(0, 19), help="Lower this process's priority by this much.")
@click.option("--exit-with-parent", is_flag=True, help="Stop when the process that started this one exits.")
@with_appcontext
def drain_pushes(claim_idle, follow, nice, exit_with_parent):
    """Store the pushes acknowledged before the database write: this host's push spool
    (CALLBACK_ACKNOWLEDGE=spooled) and the Redis push stream (=queued). With --follow, keep storing them as
    they arrive until SIGTERM; the spool is then followed by one such drainer per host at a time (a second
    one waits to take over)."""
    from flask import current_app

    from portal.services.pushes import spool_drainer, store_queued, stream

    app = current_app._get_current_object()
    streamed = stream.can_exist(app)
    spooled = spool_drainer.has_work(app)
    if not streamed and not spooled:
        raise click.ClickException("Nothing to drain: pushes are stored before success (no REDIS_URL, and "
                                   "CALLBACK_ACKNOWLEDGE is not spooled).")
    if nice and not spool_drainer.lower_priority(nice):
        log.warning("drain-pushes: niced by %s, but its scheduling group could not be (no autogroups): under "
                    "load it still takes CPU from the web processes in their own group", nice)
    if follow:
        _follow(app, spool_drainer, stream, store_queued, spooled, streamed, exit_with_parent)
        return
    stored = spool_drainer.drain_all(app, store_queued) if spooled else 0
    if streamed:
        idle = None if claim_idle is None else int(claim_idle * 1000)
        stored += stream.drain_all(stream.client(app), stream.consumer_name(), store_queued, idle)
    click.echo(json.dumps({"stored": stored}))


def _follow(app, spool_drainer, stream, store, spooled, streamed, exit_with_parent):
    """`drain-pushes --follow`: the spool (as the host's drainer) or else the stream, until SIGTERM/SIGINT
    (after the pass in progress) or, with `exit_with_parent`, until the parent is gone."""
    stopping, parent = threading.Event(), os.getppid()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_args: stopping.set())

    def stop():
        return stopping.is_set() or (exit_with_parent and os.getppid() != parent)

    if not spooled:
        stream.drain_forever(app, store)
        return
    lock = spool_drainer.hold_host_lock(app, stop)
    if lock is None:
        return
    try:
        spool_drainer.follow(app, store, stop)
    finally:
        os.close(lock)


@click.command("rotate-data-key")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000),
              help="Rows per transaction.")
@with_appcontext
def rotate_data_key(batch_size):
    """Re-encrypt every encrypted column under DATA_KEY (the current format, bound to its row), so the keys
    in DATA_KEY_PREVIOUS can be removed. Safe to interrupt and to run again. Exit status 1 when a value
    cannot be decrypted (listed by row id; the run goes on)."""
    from portal.services.data_key import rotate_data_key as rotate

    report = rotate(batch_size)
    click.echo(f"Current data key: {report['key_id']}")
    click.echo("Reviewers' notes sealed that were in plain text: "
               + ", ".join(f"{name} {count}" for name, count in report["notes"].items()))
    failed = {}
    for name, counts in report["columns"].items():
        click.echo(f"  {name:40} rewritten {counts['rewritten']:>8}  already current {counts['current']:>8}"
                   f"  failed {counts['failed']:>6}")
        if counts["failed"]:
            failed[name] = counts
    for name, counts in failed.items():
        more = counts["failed"] - len(counts["failed_ids"])
        click.echo(f"Cannot be decrypted: {name}, row ids {', '.join(map(str, counts['failed_ids']))}"
                   + (f" and {more} more" if more else ""), err=True)
    if failed:
        click.echo("Those values are left as they are (written under a key missing from DATA_KEY_PREVIOUS, "
                   "moved from another row, or tampered with); every other value is done. A token among them "
                   "is fetched from WeChat again when next used.", err=True)
        raise SystemExit(1)
    click.echo("Every value is under the current key: the keys in DATA_KEY_PREVIOUS can be removed.")


@click.command("create-api-key")
@click.option("--name", required=True, help="Name of the key (the calling system), shown in logs.")
@click.option("--tenant", "tenant_ids", type=int, multiple=True,
              help="Id of a tenant the key may reach (repeat); without any, the key reaches every tenant.")
@with_appcontext
def create_api_key(name, tenant_ids):
    """Create a key of the token service API and print it, once: only its hash is kept."""
    from portal.services import token_api

    try:
        key, raw_key = token_api.create_key(name, tenant_ids=tenant_ids, all_tenants=not tenant_ids)
    except PortalError as exc:
        raise click.ClickException(exc.message) from exc
    scope = "all tenants" if key.all_tenants else "tenants " + ", ".join(str(t.id) for t in key.tenants)
    click.echo(f"API key {key.name} ({scope}); it is shown only this once:", err=True)
    click.echo(raw_key)


def register(app):
    for command in (create_staff, demo_data, check_config, refresh_tokens, sync_authorizers, drain_pushes,
                    rotate_data_key, create_api_key):
        app.cli.add_command(command)
