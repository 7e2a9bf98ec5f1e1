"""Mini-program domains endpoints (authorizer token)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("domains", __name__)
