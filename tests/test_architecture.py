"""Structure checks on the portal's source: rules of the house that a review could miss.

Each check reads the code (Python with `ast`, templates with Jinja's parser); none imports the modules it checks.
"""

import ast
from pathlib import Path

import jinja2
import pytest
from jinja2 import nodes
from werkzeug.utils import import_string

from portal.wechat import errcodes, errors

ROOT = Path(__file__).resolve().parents[1]
PORTAL = ROOT / "portal"
WECHAT = PORTAL / "wechat"

# --- no numeric errcode literal outside portal/wechat/ ------------------------------------------------------
#
# What counts as an errcode literal, decided so that ordinary numbers never trip the check:
# - a known errcode (a key of errcodes.ERRCODES or errors.ERRCODE_CLASSES) of 5 or more digits, as an int literal
#   in a comparison, an assignment, a set/tuple/list/dict, a call argument, a default, a subscript or a
#   return. WeChat's codes are 5 digits and up, so 0, 1, 60, 3600 or 86400 never match; a number that merely
#   coincides with a code inside arithmetic (`86000 * n`) is not flagged;
# - any non-zero int literal (so -1, and codes missing from the tables too) compared with an errcode: `x.errcode`,
#   a name containing "errcode", `getattr(x, "errcode")`, or passed as an `errcode=` argument. 0 ("ok") is
#   allowed: the call log shows failed calls as `errcode != 0`.
# Numbers inside strings and comments (the "(85085)" staff read, docstrings) are text, not checked.
# The typed exceptions and constants to use instead live in portal/wechat/errors.py.

KNOWN_ERRCODES = frozenset(c for c in set(errcodes.ERRCODES) | set(errors.ERRCODE_CLASSES) if abs(c) >= 10_000)
_CONTEXTS = (ast.Compare, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Call, ast.keyword, ast.Dict,
             ast.Subscript, ast.Return, ast.arguments, ast.Yield, ast.match_case, ast.MatchValue)
_CONTAINERS = (ast.Tuple, ast.List, ast.Set, ast.Starred)


def _int_value(node):
    """The int a literal spells (`-1` is UnaryOp(USub, 1)), else None; bools are not ints here."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _int_value(node.operand)
        return None if value is None else (-value if isinstance(node.op, ast.USub) else value)
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def _names_errcode(node):
    if isinstance(node, ast.Attribute):
        return "errcode" in node.attr.lower()
    if isinstance(node, ast.Name):
        return "errcode" in node.id.lower()
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr":
        return len(node.args) > 1 and isinstance(node.args[1], ast.Constant) and node.args[1].value == "errcode"
    return False


def _literals(node):
    """The int literals a comparison operand holds: itself, or the items of a tuple/list/set."""
    if isinstance(node, _CONTAINERS):
        return [v for item in node.elts for v in _literals(item)]
    value = _int_value(node)
    return [] if value is None else [value]


def python_errcode_literals(source, filename="<source>"):
    """[(line, value, why)] for the errcode literals in one Python module (see the rules above)."""
    tree = ast.parse(source, filename)
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    found = {}
    for node in ast.walk(tree):
        value = _int_value(node)
        if value is not None and value in KNOWN_ERRCODES and not isinstance(parents.get(node), ast.UnaryOp):
            context = parents.get(node)
            while isinstance(context, _CONTAINERS):
                context = parents.get(context)
            if isinstance(context, _CONTEXTS):
                found.setdefault((node.lineno, value), f"known errcode in {type(context).__name__}")
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_names_errcode(o) for o in operands):
                for v in (v for o in operands for v in _literals(o) if v != 0):
                    found.setdefault((node.lineno, v), "compared with an errcode")
        if isinstance(node, ast.keyword) and node.arg and "errcode" in node.arg.lower():
            for v in (v for v in _literals(node.value) if v != 0):
                found.setdefault((node.lineno, v), "passed as errcode")
    return sorted((line, value, why) for (line, value), why in found.items())


def template_errcode_literals(source, env):
    """[(line, value, why)] for the errcode literals in one Jinja template: a known errcode anywhere (a
    template has no business with one), or a non-zero number compared with an errcode."""
    found = {}
    for const in env.parse(source).find_all(nodes.Const):
        if type(const.value) is int and abs(const.value) in KNOWN_ERRCODES | {-c for c in KNOWN_ERRCODES}:
            found.setdefault((const.lineno, const.value), "known errcode")
    for compare in env.parse(source).find_all(nodes.Compare):
        operands = [compare.expr, *(op.expr for op in compare.ops)]
        if any(isinstance(o, nodes.Getattr | nodes.Name) and "errcode" in getattr(o, "attr", getattr(o, "name", ""))
               for o in operands):
            for o in operands:
                value = o.value if isinstance(o, nodes.Const) else None
                if isinstance(o, nodes.Neg) and isinstance(o.node, nodes.Const):
                    value = -o.node.value
                if type(value) is int and value != 0:
                    found.setdefault((compare.lineno, value), "compared with an errcode")
    return sorted((line, value, why) for (line, value), why in found.items())


def _outside_wechat(pattern):
    return sorted(p for p in PORTAL.rglob(pattern) if WECHAT not in p.parents)


def test_no_numeric_errcode_outside_wechat():
    """Services act on typed errors (`except AlreadyReleased:`), never on raw numbers (STYLE.md E)."""
    offences = [f"{path.relative_to(PORTAL.parent)}:{line}: {value} ({why})"
                for path in _outside_wechat("*.py")
                for line, value, why in python_errcode_literals(path.read_text("utf-8"), str(path))]
    env = jinja2.Environment(extensions=["jinja2.ext.i18n", "jinja2.ext.do", "jinja2.ext.loopcontrols"])
    offences += [f"{path.relative_to(PORTAL.parent)}:{line}: {value} ({why})"
                 for path in _outside_wechat("*.html")
                 for line, value, why in template_errcode_literals(path.read_text("utf-8"), env)]
    assert not offences, "errcode literals outside portal/wechat/ (use a class from wechat/errors.py):\n" + \
        "\n".join(offences)


def test_errcode_check_finds_each_kind_and_spares_ordinary_numbers():
    """The check itself: what it must catch, and what it must leave alone."""
    caught = python_errcode_literals(
        "A, B = 85009, 85085\n"                        # 1 constant assignment (tuple unpacking)
        "if exc.errcode == 85052: pass\n"              # 2 comparison
        "ok = code in (61039, 61040)\n"                 # 3 membership in a tuple
        "TABLE = {86001: 'none'}\n"                     # 4 dict key
        "raise ReviewError(61039, 'x', 'api')\n"        # 5 call argument
        "if getattr(exc, 'errcode', None) == -1: pass\n"  # 6 -1 against an errcode
        "if exc.errcode != 87011: pass\n"               # 7 a code missing from the tables
        "WaitFor(5, 'text', errcode=-1)\n")             # 8 keyword
    assert sorted({line for line, _, _ in caught}) == [1, 2, 3, 4, 5, 6, 7, 8]
    spared = python_errcode_literals(
        "TTL = 86400\nRETRIES = (10, 60, 300)\nlast = items[-1]\nif n == -1: pass\n"
        "if row.errcode != 0: pass\nsize = 86000 * 2\nport = 65535\n"
        "'''Answers 85052 when already released.'''\n")
    assert spared == []
    env = jinja2.Environment()
    assert [v for _, v, _ in template_errcode_literals("{% if t.errcode == 85085 %}x{% endif %}", env)] == [85085]
    assert template_errcode_literals("{{ 'row-error' if c.errcode != 0 }} {{ t.errcode }}", env) == []


# --- jobs are entry points that only the worker imports ---------------------------------------------------
# Services (and everything else in `portal/`) enqueue a job by its dotted name through `portal.queueing`, so
# the rule "jobs -> services" holds and `portal/jobs/` holds entry points only. `worker.py` alone imports
# `portal.jobs`, to load the job modules once before any job runs (or before forking).

JOBS = PORTAL / "jobs"
# Modules outside portal/jobs/ that may import it: the worker preloads the job modules before work starts.
ALLOWED = {"worker.py"}


def _module_name(path, root=ROOT):
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path, root=ROOT):
    """Every module `path` imports, at module level or inside functions, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path, root)
    package = package if path.name == "__init__.py" else package.rpartition(".")[0]
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


# --- epoch seconds <-> datetimes only through portal/timeutil.py ------------------------------------------
#
# WeChat reports times as epoch seconds and the portal stores naive UTC datetimes; each copy of the conversion
# is one more place to get the time zone wrong. Flagged outside timeutil.py: any `fromtimestamp` /
# `utcfromtimestamp` call, and `<naive datetime>.replace(tzinfo=UTC).timestamp()`. A datetime that may carry
# its own zone (RQ's `job.started_at`: `replace(tzinfo=x.tzinfo or UTC)`) is not a naive UTC row value and is
# not flagged.

TIMEUTIL = PORTAL / "timeutil.py"


def _epoch_conversions(tree):
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if node.func.attr in ("fromtimestamp", "utcfromtimestamp"):
            yield node.lineno, node.func.attr
        elif node.func.attr == "timestamp" and isinstance(node.func.value, ast.Call):
            inner = node.func.value
            if isinstance(inner.func, ast.Attribute) and inner.func.attr == "replace" and any(
                    kw.arg == "tzinfo" and isinstance(kw.value, ast.Name) and kw.value.id == "UTC"
                    for kw in inner.keywords):
                yield node.lineno, "replace(tzinfo=UTC).timestamp"


def test_epoch_conversions_live_in_timeutil():
    offenders = [f"{path.relative_to(ROOT)}:{line} {what}"
                 for path in sorted(PORTAL.rglob("*.py")) if path != TIMEUTIL
                 for line, what in _epoch_conversions(ast.parse(path.read_text(encoding="utf-8")))]
    assert not offenders, "use portal.timeutil.from_epoch / to_epoch:\n" + "\n".join(offenders)


def test_epoch_check_finds_both_forms():
    """The check above is not vacuous: timeutil's own helpers are what it looks for."""
    assert {what for _line, what in _epoch_conversions(ast.parse(TIMEUTIL.read_text(encoding="utf-8")))} == \
        {"fromtimestamp", "replace(tzinfo=UTC).timestamp"}


# --- no import cycles ------------------------------------------------------------------------------------
# A module imports another (at module level or inside a function: a deferred import is still a circle, only
# hidden) when one of its import statements names it. `from package import name` counts as importing the
# submodule `package.name` when that is a module, else `package` itself; the parent packages a submodule
# import runs on the way are not counted (`a.b` importing `a.c` would otherwise always close a circle through
# `a/__init__.py`). The checks below point the finder at one feature package at a time; the same functions
# take any set of files, up to all of portal/.

PUSHES = PORTAL / "services" / "pushes"


def import_graph(files, root=ROOT):
    """{module: {modules it imports}}, both among the modules of `files` (named from `root`) only."""
    modules = {_module_name(path, root): path for path in files}
    graph = {}
    for name, path in modules.items():
        edges = set()
        for _line, imported in _imported_modules(path, root):
            while imported and imported not in modules:  # `from a.b import f` imports a.b; names outside are skipped
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                edges.add(imported)
        graph[name] = edges
    return graph


def import_cycles(graph):
    """The import circles of `graph`: one list of modules per strongly connected group of two or more
    (Tarjan's algorithm, iterative), each sorted, the list sorted."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], [0]

    def visit(root):
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(found)


def test_the_pushes_package_has_no_import_cycle():
    """The stream and the spool are given the store function; they do not import it back from receiving."""
    files = sorted(PUSHES.glob("*.py"))
    graph = import_graph(files)
    assert {"receiving", "store", "stream", "spool", "group_commit"} <= {m.rpartition(".")[2] for m in graph}
    assert not import_cycles(graph), "\n".join(" <-> ".join(cycle) for cycle in import_cycles(graph))


def test_the_cycle_finder_finds_deferred_and_long_circles(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    sources = {
        "__init__.py": "from pkg.a import run\n",
        "a.py": "from pkg import b\n",
        "b.py": "def later():\n    from pkg.c import f\n",  # a deferred import still closes the circle
        "c.py": "import pkg.a\n",
        "d.py": "from . import a\nfrom pkg.a import run\n",  # imports into the circle, not part of it
        "e.py": "import os\n",
    }
    for name, source in sources.items():
        (package / name).write_text(source)
    graph = import_graph(sorted(package.glob("*.py")), root=tmp_path)
    assert graph["pkg.d"] == {"pkg.a"} and graph["pkg.e"] == set()
    assert import_cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_portal_has_no_import_cycle():
    """Every module of portal/ sits above or below each other one: no circle, not even through a deferred import
    or a blueprint package and its views."""
    graph = import_graph(sorted(PORTAL.rglob("*.py")))
    cycles = import_cycles(graph)
    for cycle in cycles:
        print(" <-> ".join(cycle))
    assert not cycles, "import cycles in portal/:\n" + "\n".join(" <-> ".join(cycle) for cycle in cycles)


CODE = PORTAL / "services" / "code"
FLEET = PORTAL / "services" / "fleet"


def test_the_code_package_has_no_import_cycle():
    """The steps import downwards (versions, release -> audit -> commit -> app_params -> domains, privacy)."""
    graph = import_graph(sorted(CODE.glob("*.py")))
    assert {"commit", "audit", "release", "domains", "testers", "privacy"} <= {m.rpartition(".")[2] for m in graph}
    assert not import_cycles(graph), "\n".join(" <-> ".join(cycle) for cycle in import_cycles(graph))


def test_the_fleet_package_has_no_import_cycle():
    """controls -> coordinator -> steps -> limits, rules: nothing imports back up."""
    graph = import_graph(sorted(FLEET.glob("*.py")))
    assert {"coordinator", "steps", "controls", "report", "rules"} <= {m.rpartition(".")[2] for m in graph}
    assert not import_cycles(graph), "\n".join(" <-> ".join(cycle) for cycle in import_cycles(graph))


def test_services_code_imports_nothing_from_the_fleet():
    """The fleet uses the code steps, never the other way: its wake-ups are handed in (`on_change=`,
    `templates=`)."""
    offenders = sorted(f"{path.relative_to(ROOT)}:{line} imports {module}"
                       for path in sorted(CODE.glob("*.py")) for line, module in _imported_modules(path)
                       if module == "portal.services.fleet" or module.startswith("portal.services.fleet."))
    assert not offenders, "\n".join(offenders)


def _called_names(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            for node in ast.walk(tree) if isinstance(node, ast.Call)}


def test_the_fleet_steps_and_the_single_app_jobs_call_the_same_code_steps():
    """One definition of each WeChat step: `commit.upload`, `audit.submit` and `release.publish` are called
    by the single-app adapters next to them (`commit_step`, `submit_step`, `release_step`) and by the
    fleet's steps."""
    assert "upload" in _called_names(CODE / "commit.py")
    assert "submit" in _called_names(CODE / "audit.py")
    assert "publish" in _called_names(CODE / "release.py")
    assert {"upload", "submit", "publish"} <= _called_names(FLEET / "steps.py")


# --- no module-level mutable state in services/ and queueing/ --------------------------------------------
#
# What differs between Redis and the embedded mode (locks, flags, leases, counters, the job queue) and what a
# process keeps for an app (buffers, threads) lives on the app's coordination (`portal.coordination`), never
# in module globals: apps made in one process (tests make many) must share nothing.
#
# Offences, at the top level of a module in portal/services/ or portal/queueing/ (also inside a top-level `if`,
# `try` or `with`): an assignment whose value is a list, dict or set display or comprehension, or a call to
# one of MUTABLE_FACTORIES (`set()`, `deque()`, `threading.Lock()`, `threading.local()`...); and any `global`
# statement (a module name rebound at run time is module state, whatever its value).
# The allow rule, chosen over rewriting every constant table as a MappingProxyType or tuple: a name in
# UPPER_CASE is a constant table when no checked module mutates it (item assignment or deletion, augmented
# assignment, or a call of a mutating method such as `append`, `update` or `setdefault` on that name, bare
# or as an attribute: `rules.DEFAULTS.update(...)` counts). `__all__` is allowed. Tuples, frozensets,
# strings, numbers, MappingProxyType and Enum members are immutable and never flagged.

SERVICES = PORTAL / "services"
QUEUEING = PORTAL / "queueing"
MUTABLE_FACTORIES = frozenset({
    "set", "dict", "list", "bytearray", "deque", "defaultdict", "OrderedDict", "Counter", "ChainMap",
    "Lock", "RLock", "Event", "Condition", "Semaphore", "BoundedSemaphore", "Barrier", "local",
    "Queue", "SimpleQueue", "LifoQueue", "PriorityQueue", "WeakValueDictionary", "WeakKeyDictionary", "WeakSet",
})
MUTATING_METHODS = frozenset({
    "append", "extend", "insert", "remove", "pop", "popitem", "clear", "add", "discard", "update",
    "setdefault", "appendleft", "extendleft", "popleft", "sort", "reverse", "difference_update",
    "intersection_update", "symmetric_difference_update",
})
_DISPLAYS = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)


def _is_mutable_value(node):
    if isinstance(node, _DISPLAYS):
        return True
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        return name in MUTABLE_FACTORIES
    return False


def _top_level(body):
    """Statements run at import: the module's body, and the bodies of its top-level if/try/with blocks."""
    for node in body:
        yield node
        if isinstance(node, (ast.If, ast.With, ast.Try)):
            for block in (node.body, getattr(node, "orelse", []), getattr(node, "finalbody", [])):
                yield from _top_level(block)
            for handler in getattr(node, "handlers", []):
                yield from _top_level(handler.body)


def _name_of(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def mutated_names(tree):
    """Names (bare or the last part of an attribute) whose object the module changes in place."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                if isinstance(target, ast.Subscript):
                    found.add(_name_of(target.value))
                elif isinstance(node, ast.AugAssign):
                    found.add(_name_of(target))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in MUTATING_METHODS:
            found.add(_name_of(node.func.value))
    return found - {None}


def module_state(tree):
    """[(line, name, why)] for the module-level mutable objects and `global` statements of one module, before
    the allow rule for constant tables (see above)."""
    found = []
    for node in _top_level(tree.body):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None \
                and _is_mutable_value(node.value):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        found.append((node.lineno, name.id, ast.unparse(node.value)[:40]))
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            found += [(node.lineno, name, "global statement") for name in node.names]
    return found


def module_state_offences(sources, others=None):
    """The offences of the rule above in `sources` ({label: source}); a table that any of them or of `others`
    (the rest of the code, not checked itself) mutates is no constant."""
    trees = {label: ast.parse(source) for label, source in sources.items()}
    users = [ast.parse(source) for source in (others or {}).values()]
    mutated = set().union(*(mutated_names(tree) for tree in [*trees.values(), *users]))
    offences = []
    for label, tree in trees.items():
        for line, name, why in module_state(tree):
            constant_table = name.isupper() and why != "global statement" and name not in mutated
            if name != "__all__" and not constant_table:
                offences.append(f"{label}:{line} {name} = {why}")
    return offences


def _state_checked_files():
    return sorted(SERVICES.rglob("*.py")) + sorted(QUEUEING.glob("*.py"))


def test_no_module_level_mutable_state_in_services():
    checked = _state_checked_files()
    sources = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in checked}
    others = {str(p): p.read_text(encoding="utf-8") for p in sorted(PORTAL.rglob("*.py")) if p not in checked}
    offences = module_state_offences(sources, others)
    assert not offences, ("keep it on the app's coordination (`coordination().here(...)`, or an operation "
                          "of it), or make the table immutable:\n" + "\n".join(offences))


def test_module_state_check_finds_each_form_and_spares_constants():
    """The check above is not vacuous: each form is found, constant tables and immutable values are not."""
    offending = (
        "import threading\nfrom collections import deque\n"
        "_seen = set()\n_by_id = {}\n_rows = []\n_guard = threading.Lock()\n_recent = deque(maxlen=5)\n"
        "_squares = {n: n * n for n in range(3)}\n"
        "try:\n    _cache = dict()\nexcept ImportError:\n    pass\n"
        "LABELS = {'a': 1}\n_none = None\n"
        "def remember(key):\n    global _none\n    _none = key\n"
    )
    user = "from pkg import mod\n\ndef grow():\n    mod.LABELS['b'] = 2\n"
    found = module_state_offences({"mod.py": offending}, others={"user.py": user})
    assert [entry.split()[1] for entry in found] == \
        ["_seen", "_by_id", "_rows", "_guard", "_recent", "_squares", "_cache", "LABELS", "_none"]
    spared = (
        "from types import MappingProxyType\n__all__ = ['x']\nSTATES = {'a': 1, 'b': 2}\nORDER = ('a', 'b')\n"
        "NAMES = frozenset({'a'})\nTABLE = MappingProxyType({'a': 1})\n_PAUSE = 0.1\n"
        "def f():\n    cache = {}\n    cache['a'] = STATES['a']\n    return cache\n"
    )
    assert module_state_offences({"spared.py": spared}) == []
    assert module_state_offences({"a.py": "MODES = []\n", "b.py": "import a\na.MODES.append(1)\n"}) \
        == ["a.py:1 MODES = []"]


# --- only the coordination reads the app's Redis client ----------------------------------------------------
#
# `app.extensions["redis"]` is set by `portal.coordination.init_app`; everything else asks the coordination
# for what it means (a lock, a flag, a lease, a job, a cached value, the stream's client), so no module
# branches on "is there a Redis?". Flagged anywhere in portal/ and the top-level scripts, except
# portal/coordination/ and worker.py (which runs RQ on it): `<x>.extensions["redis"]` and
# `<x>.extensions.get("redis")` (or setdefault/pop); the coordination's client `<x>.redis` (or `._redis`);
# and a test on a Redis client: `redis is None`, `self._redis is not None`, `if redis:`, `not redis_client`.

COORDINATION = PORTAL / "coordination"
REDIS_READERS_ALLOWED = {"worker.py"}


def redis_extension_reads(tree):
    """Lines of `tree` that use the "redis" entry of an `extensions` mapping."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and _name_of(node.value) == "extensions" \
                and isinstance(node.slice, ast.Constant) and node.slice.value == "redis":
            yield node.lineno
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("get", "setdefault", "pop") and _name_of(node.func.value) == "extensions" \
                and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == "redis":
            yield node.lineno


def _is_none(node):
    return isinstance(node, ast.Constant) and node.value is None


def _names_redis(node):
    """A name for a Redis client (its URL is configuration: it may be tested)."""
    name = (_name_of(node) or "").lower()
    return "redis" in name and not name.endswith("url")


def redis_client_branches(tree):
    """Lines of `tree` that read the coordination's Redis client or ask whether a Redis client exists."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("redis", "_redis"):
            yield node.lineno
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(map(_is_none, operands)) and any(map(_names_redis, operands)):
                yield node.lineno
        else:
            tests = []
            if isinstance(node, (ast.If, ast.IfExp, ast.While, ast.Assert)):
                tests = [node.test]
            elif isinstance(node, ast.BoolOp):
                tests = node.values
            elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
                tests = [node.operand]
            if any(map(_names_redis, tests)):
                yield node.lineno


def _redis_checked_files():
    files = [p for p in PORTAL.rglob("*.py") if COORDINATION not in p.parents]
    files += [p for p in ROOT.glob("*.py") if p.name not in REDIS_READERS_ALLOWED]
    return sorted(files)


def test_only_the_coordination_reads_the_redis_extension():
    offenders = [f"{path.relative_to(ROOT)}:{line}" for path in _redis_checked_files()
                 for line in redis_extension_reads(ast.parse(path.read_text(encoding="utf-8")))]
    assert not offenders, "ask the app's coordination (portal.coordination) instead:\n" + "\n".join(offenders)


def test_redis_extension_check_finds_every_spelling():
    """The check above is not vacuous: each spelling is found, other extensions and other mappings are not."""
    source = (
        "from flask import current_app\n"
        "a = current_app.extensions.get('redis')\n"
        "b = app.extensions['redis']\n"
        "c = self.app.extensions.setdefault('redis', None)\n"
        "d = current_app.extensions.get('secretbox')\n"
        "e = settings.get('redis')\n"
    )
    assert list(redis_extension_reads(ast.parse(source))) == [2, 3, 4]
    assert list(redis_extension_reads(ast.parse((COORDINATION / "__init__.py").read_text(encoding="utf-8"))))


def test_no_module_branches_on_a_redis_client():
    offenders = [f"{path.relative_to(ROOT)}:{line}" for path in _redis_checked_files()
                 for line in sorted(set(redis_client_branches(ast.parse(path.read_text(encoding="utf-8")))))]
    assert not offenders, ("ask the app's coordination for the capability (`is_shared`, `has_streams`, "
                           "`cache_get`, `is_reachable`...) instead:\n" + "\n".join(offenders))


def test_redis_client_check_finds_every_spelling():
    """The check above is not vacuous: each way of asking is found; using a client one was handed, or
    testing a configured URL, is not."""
    source = (
        "a = coordination(app).redis\n"
        "if self._redis is None:\n"
        "    pass\n"
        "if redis is not None and ready:\n"
        "    pass\n"
        "b = 1 if redis_client else 2\n"
        "if not redis:\n"
        "    pass\n"
        "c = redis.xlen('callbacks:pushes')\n"
        "d = client is None\n"
        "import redis\n"
        "e = redis.Redis.from_url(url)\n"
        "if not redis_url:\n"
        "    pass\n"
    )
    assert sorted(set(redis_client_branches(ast.parse(source)))) == [1, 2, 4, 6, 7]
    assert list(redis_client_branches(ast.parse((COORDINATION / "redis.py").read_text(encoding="utf-8"))))
