"""What the coordinator and the steps of a fleet release agree on: the options' defaults, the step each
waiting state leads to and the state a step goes back to, the states a release is done with, and how a unit
of work meets a busy database."""

import logging
import random
import time

from sqlalchemy.exc import OperationalError

from portal.extensions import db
from portal.models import fleet as F

log = logging.getLogger("portal.fleet")
DEFAULTS = {"auto_submit": True, "auto_release": True, "gray_percentage": 0, "max_failure_rate": 100,
            "max_concurrency": 10, "canary_count": 0, "canary_percent": 0, "privacy_api_not_use": False,
            "version_desc": ""}
READY = {F.QUEUED: F.COMMITTING, F.COMMITTED: F.SUBMITTING, F.PRIVACY: F.SUBMITTING, F.APPROVED: F.RELEASING}
BACK = {F.COMMITTING: F.QUEUED, F.SUBMITTING: F.COMMITTED, F.RELEASING: F.APPROVED}
STEP_OF = {F.COMMITTING: "commit", F.SUBMITTING: "submit", F.RELEASING: "release"}


def settled_states(opts):
    """States in which a target needs nothing more from this release."""
    extra = () if opts.get("auto_submit") else (F.COMMITTED, F.PRIVACY)
    extra += () if opts.get("auto_release") or not opts.get("auto_submit") else (F.APPROVED,)
    return F.FINAL + extra



def retry_busy_db(func, *args, tries=5):
    """`func(*args)`, a unit of work that ends in a commit, run again after a rollback when the database
    answers an OperationalError (SQLite "database is locked" with several worker processes, a MySQL deadlock
    or lock wait timeout): such errors say nothing about the work itself, and every caller's unit is safe to
    redo. The last error propagates."""
    for n in range(tries):
        try:
            return func(*args)
        except OperationalError as exc:
            db.session.rollback()
            if n == tries - 1:
                raise
            log.warning("fleet: database busy (%s), trying again", exc.orig)
            time.sleep(0.05 * 2 ** n + random.random() * 0.05)
