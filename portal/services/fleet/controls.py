"""Controls of a running fleet release: pause, resume, cancel and retry the failed targets. Each records
who did it in the activity log and asks the coordinator (`coordinator.tick`) to act on the new state; none of them
calls WeChat.

Each control changes the release's state under the coordinator's lock of the release (`tick` holds it while it
reads the state and writes what follows from it, e.g. "finished"): a control committed in between would be
overwritten by the tick's write. The tick it asks for is requested once the lock is given back, since a tick
that finds the lock held leaves its work to the holder."""

from contextlib import contextmanager

from flask_babel import gettext as _
from sqlalchemy import select

from portal.errors import Conflict
from portal.extensions import db
from portal.models import FleetTarget
from portal.models import fleet as F
from portal.services import activity
from portal.services.fleet.coordinator import _counts, _failure_counts, get_release
from portal.services.fleet.rules import settled_states
from portal.services.fleet.signals import forget_active_releases, request_tick
from portal.services.locks import named_lock


@contextmanager
def _locked(release_id):
    """Hold the release's coordinator lock (as long as a tick may hold it) and read the release afresh."""
    with named_lock(f"fleet:{release_id}", ttl_ms=120_000, wait_seconds=60):
        db.session.rollback()
        yield


def _control(release_id, actor, allowed, new_state, action):
    release = get_release(release_id)
    if release.state not in allowed:
        from portal.services.fleet.report import release_label

        raise Conflict(_("This release cannot do that now (it is %(state)s).", state=release_label(release.state)))
    release.state = new_state
    activity.record(f"fleet.{action}", actor=actor, detail=f"release {release.id}")
    return release


def pause(release_id, actor):
    with _locked(release_id):
        release = _control(release_id, actor, (F.RUNNING,), F.PAUSED, "pause")
        release.stop_reason = _("Paused by %(who)s.", who=getattr(actor, "email", "staff"))
        db.session.commit()
    return release


def resume(release_id, actor):
    """Resume a paused release; failure-rate stops count only failures from now on."""
    with _locked(release_id):
        release = _control(release_id, actor, (F.PAUSED,), F.RUNNING, "resume")
        opts = release.get_options()
        opts["baseline"] = _failure_counts(release, opts)
        release.set_options(opts)
        release.stop_reason, release.quota_checked_at = None, None
        if not release.canary_passed:  # staff saw the canary's results and let the rest go
            waiting = _counts(release, canary_only=True)
            release.canary_passed = not any(n for s, n in waiting.items() if s not in settled_states(opts))
        db.session.commit()
    forget_active_releases()
    request_tick(release.id)
    return release


def cancel(release_id, actor):
    """Stop handing out work; steps in flight finish, then every unfinished target is cancelled."""
    with _locked(release_id):
        release = _control(release_id, actor, (F.RUNNING, F.PAUSED), F.CANCELLING, "cancel")
        db.session.commit()
    request_tick(release.id)
    return release


def retry_failed(release_id, actor):
    """Put failed targets back before the step that failed; the release runs again."""
    with _locked(release_id):
        release = get_release(release_id)
        if release.state in (F.CANCELLING, F.CANCELLED_RELEASE):
            raise Conflict(_("A cancelled release cannot retry."))
        back = {"commit": F.QUEUED, "submit": F.COMMITTED, "privacy": F.COMMITTED, "release": F.APPROVED}
        count = 0
        for target in db.session.scalars(select(FleetTarget).where(FleetTarget.release_id == release.id,
                                                                    FleetTarget.state == F.FAILED)):
            target.state = back.get(target.failed_step, F.QUEUED)
            target.retries, target.errcode, target.reason, target.finished_at, target.not_before = 0, None, None, None, None
            count += 1
        if count and release.state == F.FINISHED:
            release.state, release.finished_at = F.RUNNING, None
        activity.record("fleet.retry", actor=actor, detail=f"release {release.id}: {count}")
        db.session.commit()
    forget_active_releases()
    request_tick(release.id)
    return count
