"""Every one of Crucible's semgrep rules: a snippet it must flag and a near miss it must not.
semgrep runs once, offline, over all snippets (no Docker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.score.security.linters import semgrep

# rule -> (code it must flag, a near miss it must leave alone)
CASES: dict[str, tuple[str, str]] = {
    "crucible.jwt-decode-unverified": (
        'claims = jwt.decode(token, key, algorithms=["HS256"], options={"verify_signature": False})',
        'claims = jwt.decode(token, key, algorithms=["HS256"], options={"require": ["exp"]})',
    ),
    "crucible.jwt-alg-none-accepted": (
        'claims = jwt.decode(token, key, algorithms=["HS256", "none"])',
        'claims = jwt.decode(token, key, algorithms=["HS256"])',
    ),
    "crucible.hardcoded-jwt-secret": (
        'token = jwt.encode(claims, "super-secret-value", algorithm="HS256")',
        'token = jwt.encode(claims, os.environ["JWT_SECRET"], algorithm="HS256")',
    ),
    "crucible.sql-built-from-strings": (
        "rows = conn.execute(f\"SELECT * FROM users WHERE email = '{email}'\")",
        'rows = conn.execute("SELECT * FROM users WHERE email = %s", (email,))',
    ),
    "crucible.weak-password-hash": (
        "user.password_hash = hashlib.sha256(password.encode()).hexdigest()",
        "prehash = base64.b64encode(hashlib.sha256(password.encode()).digest())",
    ),
    "crucible.debug-mode": (
        "app.run(host='127.0.0.1', debug=True)",
        "app.run(host='127.0.0.1', debug=False)",
    ),
    "crucible.cors-any-origin-with-credentials": (
        'app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True, allow_methods=["*"])',
        'app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"], allow_credentials=True)',
    ),
    "crucible.shell-command": (
        'subprocess.run(f"convert {name} out.png", shell=True)',
        'subprocess.run(["convert", name, "out.png"], check=True)',
    ),
    "crucible.unsafe-deserialisation": (
        "payload = pickle.loads(request_body)",
        "payload = json.loads(request_body)",
    ),
}
IMPORTS = "import base64, hashlib, json, os, pickle, subprocess\nimport jwt, yaml\n"
EXTRA_FLAGGED = {
    "sql-text-concat": (
        "crucible.sql-built-from-strings",
        'session.execute(text("DELETE FROM t WHERE id = " + ident))',
    ),
    "yaml-load": ("crucible.unsafe-deserialisation", "config = yaml.load(body)"),
    "secret-constant": ("crucible.hardcoded-jwt-secret", 'JWT_SECRET = "change-me-later"'),
}
EXTRA_NEAR_MISSES = {
    "yaml-safe": ("crucible.unsafe-deserialisation", "config = yaml.safe_load(body)"),
    "secret-from-env": ("crucible.hardcoded-jwt-secret", 'JWT_SECRET = os.environ["JWT_SECRET"]'),
    "text-bound": (
        "crucible.sql-built-from-strings",
        'session.execute(text("DELETE FROM t WHERE id = :id"), {"id": ident})',
    ),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    root = tmp_path_factory.mktemp("snippets")
    files: dict[str, str] = {}
    for index, (flagged, near_miss) in enumerate(CASES.values()):
        files[f"flag_{index}.py"] = flagged
        files[f"miss_{index}.py"] = near_miss
    for name, (_, code) in EXTRA_FLAGGED.items():
        files[f"flag_{name}.py"] = code
    for name, (_, code) in EXTRA_NEAR_MISSES.items():
        files[f"miss_{name}.py"] = code
    for name, code in files.items():
        (root / name).write_text(IMPORTS + code + "\n")
    findings, error = semgrep(Path(root))
    assert not error, error
    found: dict[str, set[str]] = {name: set() for name in files}
    for finding in findings:
        found[finding.file].add(finding.rule)
    return found


def test_every_rule_has_a_case() -> None:
    from importlib import resources

    import yaml as pyyaml

    text = (resources.files("harness.score.security") / "rules" / "backend.yml").read_text()
    ids = {rule["id"] for rule in pyyaml.safe_load(text)["rules"]}
    assert ids == set(CASES)
    for rule in pyyaml.safe_load(text)["rules"]:
        assert rule["metadata"]["cwe"].startswith("CWE-"), rule["id"]


@pytest.mark.parametrize("rule", list(CASES))
def test_rule_flags_its_snippet_and_spares_the_near_miss(results: dict[str, set[str]], rule: str) -> None:
    index = list(CASES).index(rule)
    assert rule in results[f"flag_{index}.py"], results[f"flag_{index}.py"]
    assert rule not in results[f"miss_{index}.py"], results[f"miss_{index}.py"]


@pytest.mark.parametrize("name", list(EXTRA_FLAGGED))
def test_more_shapes_are_flagged(results: dict[str, set[str]], name: str) -> None:
    assert EXTRA_FLAGGED[name][0] in results[f"flag_{name}.py"]


@pytest.mark.parametrize("name", list(EXTRA_NEAR_MISSES))
def test_more_near_misses_are_spared(results: dict[str, set[str]], name: str) -> None:
    assert EXTRA_NEAR_MISSES[name][0] not in results[f"miss_{name}.py"]
