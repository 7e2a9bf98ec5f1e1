"""Mini-program privacy endpoints (authorizer token)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("privacy", __name__)
