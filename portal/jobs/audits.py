"""Audit jobs: submit for audit (idempotent across retries and crashes) and the periodic poll that
rescues audits whose result push was lost."""

from portal.services import code, fleet, jobs


def submit_audit_job(run_id):
    """Submit the trial version for audit (/wxa/submit_audit), once."""
    return jobs.run(run_id, code.submit_step, again="portal.jobs.audits.submit_audit_job")


def poll_open_audits():
    """Ask WeChat about audits open for longer than AUDIT_POLL_AFTER_MINUTES."""
    return code.poll_open_audits(on_change=fleet.wake_after_commit)
