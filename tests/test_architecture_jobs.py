"""Structure check: jobs are entry points that only the worker imports.

Services (and everything else in `portal/`) enqueue a job by its dotted name through `portal.queueing`,
so the rule "jobs -> services" holds and `portal/jobs/` holds entry points only. `worker.py` alone
imports `portal.jobs`, to load the job modules once before any job runs (or before forking).
"""

import ast
from pathlib import Path

import pytest
from werkzeug.utils import import_string

ROOT = Path(__file__).resolve().parents[1]
PORTAL = ROOT / "portal"
JOBS = PORTAL / "jobs"
# Modules outside portal/jobs/ that may import it: the worker preloads the job modules before work starts.
ALLOWED = {"worker.py"}


def _module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path):
    """Every module `path` imports, at module level or inside functions, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # `from portal.jobs.fleet import x` imports portal.jobs.fleet; `from portal import jobs` imports portal.jobs
            names = [module] if _is_jobs(module) else [f"{module}.{alias.name}" for alias in node.names]
            for name in names:
                yield node.lineno, name


def _is_jobs(module):
    return module == "portal.jobs" or module.startswith("portal.jobs.")


def _checked_files():
    files = [p for p in PORTAL.rglob("*.py") if JOBS not in p.parents]
    files += [p for p in ROOT.glob("*.py") if p.name not in ALLOWED]  # wsgi.py and the like
    return sorted(files)


def test_nothing_outside_portal_jobs_imports_portal_jobs():
    offenders = sorted({f"{path.relative_to(ROOT)}:{line} imports {module}"
                        for path in _checked_files() for line, module in _imported_modules(path)
                        if _is_jobs(module)})
    assert not offenders, "enqueue jobs by dotted name through portal.queueing instead:\n" + "\n".join(offenders)


def _job_names():
    """String literals in portal/ outside portal/jobs/ that name something in portal.jobs (logger names aside)."""
    for path in _checked_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        loggers = {id(arg) for node in ast.walk(tree) if isinstance(node, ast.Call)
                   and getattr(node.func, "attr", getattr(node.func, "id", None)) == "getLogger"
                   for arg in node.args}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and _is_jobs(node.value)
                    and " " not in node.value and id(node) not in loggers):
                yield f"{path.relative_to(ROOT)}:{node.lineno}", node.value


@pytest.mark.parametrize(("where", "name"), sorted(set(_job_names())))
def test_every_enqueued_job_name_is_a_job_function(where, name):
    """A typo in a dotted name would only show when the job runs: each must name a function in portal/jobs/."""
    assert callable(import_string(name)), f"{where}: {name}"


def test_the_services_enqueue_jobs_by_name():
    """The check above is not vacuous: services name the jobs they start."""
    assert any(where.startswith("portal/services/") for where, _name in _job_names())
