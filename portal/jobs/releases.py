"""Code-management jobs: commit (upload code) and release. Each takes a `JobRun` id and runs one service
step through `services.jobs.run`, which retries transient WeChat failures and records final ones."""

from portal.services import calllog, code, jobs


def commit_job(run_id):
    """Upload code (/wxa/commit) for the run's mini-program."""
    return jobs.run(run_id, code.commit_step)


def release_job(run_id):
    """Publish the approved version (/wxa/release), once."""
    return jobs.run(run_id, code.release_step)


def recover_stranded_jobs():
    """Enqueue again the runs whose worker died mid-job."""
    return {"recovered": jobs.recover_stranded({"commit": "portal.jobs.releases.commit_job",
                                                "release": "portal.jobs.releases.release_job",
                                                "submit_audit": "portal.jobs.audits.submit_audit_job"})}


def prune_call_log():
    """Keep the WeChat call log to its last WECHAT_CALL_LOG_DAYS days (30 by default)."""
    from flask import current_app

    return {"deleted": calllog.prune_calls(current_app.config.get("WECHAT_CALL_LOG_DAYS", 30))}
