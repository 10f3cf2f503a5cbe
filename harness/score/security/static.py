"""Static lint of a workspace: semgrep with Crucible's own rules, bandit, and ruff's S rules, run on
the host over a copy of the workspace's Python files (regular files only: links are never followed),
normalised to :class:`Finding` and de-duplicated on (file, line, CWE).

Suppressed, because the runtime contract or ordinary practice makes them unavoidable or harmless:
- binding every interface (bandit B104, ruff S104): the contract has the app listen on 0.0.0.0 inside
  its pod, which has no other interface than loopback;
- `assert` (B101, S101) and hard-coded passwords (B105, B106, S105, S106) in the workspace's own tests;
- a hard-coded "password" that is a token scheme word, such as `token_type = "bearer"`
  (see :func:`benign_token_word`).
"""

from __future__ import annotations

import ast
import hashlib
import itertools
import re
import tarfile
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any

from harness._util.archive import safe_extract
from harness._util.fs import atomic_write_bytes
from harness.records.security import Finding, SecurityReport
from harness.score.security import linters
from harness.score.security.linters import LINTERS

MAX_FILE_BYTES = 1_000_000
SUPPRESSED_EVERYWHERE = {"B104", "S104"}
SUPPRESSED_IN_TESTS = {"B101", "S101", "B105", "B106", "S105", "S106"}
HARDCODED_PASSWORD = {"B105", "B106", "B107", "S105", "S106", "S107"}
# Words a token's scheme or kind is named by, never a secret: the HTTP authentication schemes
# (RFC 6750 Bearer, RFC 7617 Basic, RFC 7616 Digest), the token kinds a JWT's own claims name, and the
# OAuth 2 token type hints (RFC 7009). Compared case-insensitively.
TOKEN_SCHEME_WORDS = frozenset(
    {"bearer", "basic", "digest", "access", "refresh", "access_token", "refresh_token"}
)
# Names bandit and ruff take to hold a password (a whole `_`-separated word of the name matches), and
# the part of such a name that means a password or a secret rather than a token.
_CANDIDATE_NAME = re.compile(r"(^|_)(pas+wo?r?d|pass(phrase)?|pwd|token|secrete?)($|_)", re.IGNORECASE)
_PASSWORD_NAME = re.compile(r"pas+wo?r?d|pass(phrase)?|pwd|secret", re.IGNORECASE)

TOOL_PREFERENCE = {"semgrep": 0, "bandit": 1, "ruff": 2}


def deduplicate(findings: list[Finding]) -> list[Finding]:
    """One finding per (file, line, cwe): the preferred tool's, naming the others in ``also``."""
    chosen: dict[tuple[str, int, str], Finding] = {}
    for finding in sorted(findings, key=lambda f: (TOOL_PREFERENCE.get(f.tool, 9), f.rule)):
        key = (finding.file, finding.line, finding.cwe)
        if key in chosen:
            kept = chosen[key]
            if finding.tool != kept.tool and finding.tool not in kept.also:
                chosen[key] = kept.model_copy(update={"also": [*kept.also, finding.tool]})
        else:
            chosen[key] = finding
    return sorted(chosen.values(), key=lambda f: (f.file, f.line, f.cwe))


def scan_tree(archive: bytes, dest: Path) -> int:
    """Unpack the workspace's regular .py files into ``dest``; links and oversized files are skipped.
    The number of files unpacked."""

    def wanted(member: tarfile.TarInfo) -> bool:
        return member.isfile() and member.name.endswith(".py") and member.size <= MAX_FILE_BYTES

    safe_extract(archive, dest, select=wanted)
    return sum(1 for path in dest.rglob("*.py") if path.is_file())


def _is_test_file(path: str) -> bool:
    parts = path.split("/")
    return "tests" in parts or "test" in parts or parts[-1].startswith("test_") or parts[-1] == "conftest.py"


def _with_snippet(root: Path, finding: Finding) -> Finding:
    """The finding with its source line read from the scanned copy (tools differ in what they give)."""
    path = (root / finding.file).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return finding
    lines = path.read_text(errors="replace").splitlines()
    if 0 < finding.line <= len(lines):
        return finding.model_copy(update={"snippet": lines[finding.line - 1].strip()[:300]})
    return finding


def _target_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):
        return _string(node.slice)
    return None


def _string(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _named_strings(tree: ast.AST) -> Iterator[tuple[set[int], str | None, ast.AST | None]]:
    """(lines, name, value) for every place bandit and ruff look for a hard-coded password: assignments,
    keyword arguments, dict entries, comparisons and parameter defaults. The lines are the value's and
    its statement's (the tools report one or the other)."""
    for node in ast.walk(tree):
        pairs: list[tuple[str | None, ast.AST | None]] = []
        if isinstance(node, ast.Assign):
            pairs = [(_target_name(target), node.value) for target in node.targets]
        elif isinstance(node, ast.AnnAssign):
            pairs = [(_target_name(node.target), node.value)]
        elif isinstance(node, ast.keyword):
            pairs = [(node.arg, node.value)]
        elif isinstance(node, ast.Dict):
            pairs = [(_string(key), value) for key, value in zip(node.keys, node.values, strict=True)]
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for left, right in itertools.pairwise(operands):
                pairs += [(_target_name(left), right), (_target_name(right), left)]
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            args = node.args
            positional = [*args.posonlyargs, *args.args]
            defaults = zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True)
            pairs = [(arg.arg, value) for arg, value in defaults]
            pairs += [(arg.arg, value) for arg, value in zip(args.kwonlyargs, args.kw_defaults, strict=True)]
        for name, value in pairs:
            lines = {getattr(node, "lineno", 0), getattr(value, "lineno", 0)}
            yield lines, name, value


def benign_token_word(source: str, line: int) -> bool:
    """Whether a hard-coded-password finding on ``line`` of ``source`` names a token scheme, not a secret.

    Benign, and only then: every string that bandit or ruff could have taken for a password on that line
    (a string assigned, passed as a keyword, stored under a dict key, compared with, or given as a
    parameter default, to a name such as `token_type` or `TOKEN_KIND`) is one of
    :data:`TOKEN_SCHEME_WORDS`, and none of those names speaks of a password, passphrase or secret.
    So `token_type: Literal["bearer"] = "bearer"`, `token_type = "bearer"`, `{"token_type": "bearer"}`,
    `TokenOut(token_type="bearer")`, `if token_type != "refresh"` and `def f(token_type="bearer")` are
    benign: these words are public labels (the `token_type` of an OAuth 2 token response is "bearer" by
    specification), and whoever reads them learns nothing. `password = "bearer"`, a line that also
    holds another string such as `{"access_token": "abc", "token_type": "bearer"}`, and a source that
    does not parse are not.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):  # a hostile file may nest deeply
        return False
    candidates = [
        (name, _string(value))
        for lines, name, value in _named_strings(tree)
        if line in lines and name and _CANDIDATE_NAME.search(name) and _string(value) is not None
    ]
    return bool(candidates) and all(
        (value or "").lower() in TOKEN_SCHEME_WORDS and not _PASSWORD_NAME.search(name)
        for name, value in candidates
    )


def suppressed(finding: Finding, root: Path | None = None) -> bool:
    """Whether ``finding`` is dropped (see the module's docstring). ``root`` is the scanned copy, which
    the benign-token-word check reads; without it that check is skipped."""
    if finding.rule in SUPPRESSED_EVERYWHERE:
        return True
    if finding.rule in SUPPRESSED_IN_TESTS and _is_test_file(finding.file):
        return True
    if finding.rule in HARDCODED_PASSWORD and root is not None:
        path = (root / finding.file).resolve()
        if path.is_relative_to(root) and path.is_file():
            return benign_token_word(path.read_text(errors="replace"), finding.line)
    return False


def static_scan(archive: bytes) -> SecurityReport:
    """Lint the workspace in ``archive`` with all three tools (in parallel) and normalise the results."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="crucible-lint-") as scratch:
        root = Path(scratch).resolve()
        scan_tree(archive, root)
        seconds: dict[str, float] = {}

        def timed(name: str, tool: Any) -> tuple[list[Finding], str]:
            mark = time.monotonic()
            result: tuple[list[Finding], str] = tool(root)
            seconds[name] = round(time.monotonic() - mark, 3)
            return result

        with ThreadPoolExecutor(max_workers=3) as pool:
            runs = {name: pool.submit(timed, name, LINTERS.get(name)) for name in LINTERS}
            results = {name: future.result() for name, future in runs.items()}
        everything = [_with_snippet(root, f) for findings, _ in results.values() for f in findings]
        kept = [f for f in everything if not suppressed(f, root)]
    errors = [f"{name}: {error}" for name, (_, error) in results.items() if error]
    seconds["static"] = round(time.monotonic() - started, 3)
    return SecurityReport(
        findings=deduplicate(kept),
        suppressed=len(everything) - len(kept),
        tool_errors=errors,
        seconds=seconds,
    )


def _scan_key(archive: bytes) -> str:
    """The workspace's content, the rules and Crucible's version: what a scan's result depends on
    (the tools are pinned by Crucible's own requirements)."""
    from harness import __version__

    rules = (resources.files("harness.score.security") / "rules" / "backend.yml").read_bytes()
    digest = hashlib.sha256()
    code = Path(__file__).read_bytes() + Path(linters.__file__).read_bytes()
    for part in (__version__.encode(), rules, code, archive):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:32]


def cached_static_scan(archive: bytes, cache_dir: Path) -> SecurityReport:
    """:func:`static_scan`, reused for a workspace already scanned (epochs that wrote the same code);
    a reused report says so in its timings (`static` 0, `cached` 1)."""
    path = cache_dir / "static-lint" / f"{_scan_key(archive)}.json"
    if path.is_file():
        try:
            report = SecurityReport.model_validate_json(path.read_bytes())
            return report.model_copy(update={"seconds": {"static": 0.0, "cached": 1.0}})
        except ValueError:
            path.unlink(missing_ok=True)
    report = static_scan(archive)
    if not report.tool_errors:
        atomic_write_bytes(path, report.model_dump_json().encode())
    return report
