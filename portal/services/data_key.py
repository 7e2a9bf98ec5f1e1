"""Rotating the data key: every sealed column re-encrypted under the current `DATA_KEY`, in the current
format (enc2, bound to its row), so the keys in `DATA_KEY_PREVIOUS` can be retired (`flask rotate-data-key`).

Each column is walked in id order, `batch_size` rows per transaction. A value is rewritten only if it still
holds what was read (compare-and-set), so a token the application writes meanwhile (always in the current
form) is never overwritten with an older one. Interrupted, a run loses nothing: every committed batch is
done, and the next run counts those rows as already current. A value that cannot be decrypted is left as it
is and reported by row id (never its contents); the run goes on.

The Redis token cache is not rewritten: its entries expire within two hours, and one written under a key
that was retired meanwhile reads as a miss (`tokens.PortalTokenStore`).

The run first seals what was never sealed: the reviewers' note (`version_desc`, often a test account and its
password) of job runs and fleet releases written before migration 0011 and still active at the upgrade. The
migration removed the notes of finished rows but had no data key to seal the others with, so they stayed in
the plain `params` / `options` (where those rows still read them). `seal_plain_notes` moves each into the
row's sealed column, giving the row the `ref` its ciphertext is bound to, with the same compare-and-set.
"""

import json
import secrets

from flask import current_app
from sqlalchemy import or_, select, update

from portal.extensions import db
from portal.models import FleetRelease, JobRun
from portal.models.fleet import SECRET_OPTIONS
from portal.models.types import sealed_columns
from portal.secretbox import SecretDecryptError

NOTE_KEYS = ("version_desc",)  # the secret parameters of a job run (`code.audit.request_submit`)

BATCH_SIZE = 500
FAILED_IDS_SHOWN = 1000  # a missing key fails every row: the count says how many, the ids start the search


def rotate_data_key(batch_size=BATCH_SIZE):
    """Returns {"key_id": the current key id, "notes": `seal_plain_notes()`, "columns": {"table.column":
    counts}}, where counts are rewritten, current (already enc2 under the current key, or written meanwhile
    by the application), failed (cannot be decrypted) and failed_ids (the first FAILED_IDS_SHOWN of them)."""
    box = current_app.extensions["secretbox"]
    notes = seal_plain_notes()
    columns = {sealed.name: _rotate_column(box, sealed, batch_size) for sealed in sealed_columns(db.Model)}
    return {"key_id": box.key_id, "notes": notes, "columns": columns}


def seal_plain_notes():
    """Move every reviewers' note still in plain text into its row's sealed column; returns how many rows
    were changed: {"job_runs.params": n, "fleet_releases.options": n}."""
    return {"job_runs.params": _seal_notes(JobRun, "params", NOTE_KEYS),
            "fleet_releases.options": _seal_notes(FleetRelease, "options", SECRET_OPTIONS)}


def _seal_notes(model, plain_name, keys):
    sealed = next(s for s in sealed_columns(db.Model) if s.owner is model)
    table = model.__table__
    plain, hidden, ref_column = table.c[plain_name], _stored_column(sealed), table.c[sealed.row_key]
    box, moved = current_app.extensions["secretbox"], 0
    with db.engine.begin() as connection:
        rows = connection.execute(select(table.c.id, ref_column, plain, hidden).where(
            or_(*(plain.like(f"%{key}%") for key in keys)))).all()
        for rid, ref, text, stored in rows:
            try:
                values = json.loads(text)
            except ValueError:
                continue
            found = {key: values.pop(key) for key in keys if key in values}
            if not found:
                continue
            ref = ref or secrets.token_hex(16)
            secret = {key: value for key, value in found.items() if value}
            if stored is not None:  # what was sealed already stays, and wins
                try:
                    secret.update(json.loads(box.decrypt(stored, sealed.binding(ref))))
                except SecretDecryptError:
                    continue  # left as it is: the rotation below reports the row by id
            changed = connection.execute(update(table).where(table.c.id == rid, plain == text).values({
                plain.key: json.dumps(values, ensure_ascii=False), ref_column.key: ref,
                hidden.key: box.encrypt(json.dumps(secret, ensure_ascii=False), sealed.binding(ref)) if secret
                else None}))
            moved += changed.rowcount
    return moved


def _stored_column(sealed):
    """The table column a Sealed attribute keeps its ciphertext in (named apart from the attribute at times)."""
    return sealed.owner.__mapper__.columns[sealed.column_attr]


def _rotate_column(box, sealed, batch_size):
    table = sealed.owner.__table__
    row_id, row_key, column = table.c.id, table.c[sealed.row_key], _stored_column(sealed)
    counts = {"rewritten": 0, "current": 0, "failed": 0, "failed_ids": []}
    last_id = None
    while True:
        query = select(row_id, row_key, column).where(column.is_not(None)).order_by(row_id).limit(batch_size)
        if last_id is not None:
            query = query.where(row_id > last_id)
        with db.engine.begin() as connection:
            rows = connection.execute(query).all()
            for rid, key, stored in rows:
                outcome = _reseal(box, sealed, connection, (table, row_id, column), rid, key, stored)
                counts[outcome] += 1
                if outcome == "failed" and len(counts["failed_ids"]) < FAILED_IDS_SHOWN:
                    counts["failed_ids"].append(rid)
        if len(rows) < batch_size:
            return counts
        last_id = rows[-1][0]


def _reseal(box, sealed, connection, where, rid, key, stored):
    bound_to = sealed.binding(key)
    try:
        plaintext = box.decrypt(stored, bound_to)
    except SecretDecryptError:
        return "failed"
    if box.is_current(stored):
        return "current"
    table, row_id, column = where
    changed = connection.execute(update(table).where(row_id == rid, column == stored)
                                 .values({column.key: box.encrypt(plaintext, bound_to)}))
    # No row matched: the application wrote this value meanwhile (in the current form) or deleted the row.
    return "rewritten" if changed.rowcount == 1 else "current"
