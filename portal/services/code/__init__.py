"""Code management of mini-programs: the one set of WeChat steps that single-app jobs and fleet releases
both run (upload, submit for audit, release), and the quick actions around them.

- `commit`: upload code (/wxa/commit) with the app's ext_json, adopting an upload whose answer was lost;
  the latest upload recorded; the trial version's QR code.
- `audit`: submit for audit (privacy scan, guideline, submit_audit, adopting a submission whose answer was
  lost, the audit row); audit result pushes; refresh, the poll of open audits, withdraw, speed up, quota.
- `release`: release the approved version (85052 "already released" counts as done); roll back, gray
  release, visit status.
- `versions`: one app's development, trial, in-audit and live versions; the staff list across apps.
- `domains`, `testers`, `privacy`: server and business domains, testers, the privacy guideline and scan.
- `app_params`: the values an app is uploaded and submitted with (its tenant's, overridden by its own).
- `setup`: what a new mini-program needs before its first audit (name, avatar, introduction, categories,
  location APIs), the overview's checklist, and the check `audit.submit` makes before submitting.

Single-app jobs run `commit_step`, `submit_step` and `release_step` through `services.jobs.run`; the
fleet's per-app steps call `commit.upload`, `audit.submit` and `release.publish`, the same functions those
three adapters call. Imports go one way, downwards: versions, release → audit → setup, commit → app_params →
domains, privacy; nothing here imports `services.fleet` (the fleet uses this package), views or jobs.
"""

from portal.services.code.audit import (
    apply_audit_events,
    audit_of,
    audits_of,
    open_audit,
    poll_open_audits,
    quota,
    refresh_latest,
    refresh_one,
    request_submit,
    speedup_audit,
    submit_defaults,
    submit_step,
    undo_audit,
    undo_limits,
)
from portal.services.code.commit import (
    build_ext_json,
    commit_step,
    experience_qr,
    latest_commit,
    request_commit,
    templates,
)
from portal.services.code.release import (
    change_visit_status,
    gray_release,
    releasable_audit,
    release_state,
    release_step,
    request_release,
    revert_gray_release,
    revert_release,
)
from portal.services.code.versions import SORTS, list_for_staff, released_versions, version_overview

__all__ = [
    "SORTS", "apply_audit_events", "audit_of", "audits_of", "build_ext_json", "change_visit_status", "commit_step",
    "experience_qr", "gray_release", "latest_commit", "list_for_staff", "open_audit", "poll_open_audits",
    "quota", "refresh_latest", "refresh_one", "releasable_audit", "release_state", "release_step",
    "released_versions", "request_commit", "request_release", "request_submit", "revert_gray_release",
    "revert_release", "speedup_audit", "submit_defaults", "submit_step", "templates", "undo_audit",
    "undo_limits", "version_overview",
]
