"""Mini-program audit endpoints (authorizer token)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("audit", __name__)
