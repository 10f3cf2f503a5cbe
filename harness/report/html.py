"""The reviewer's page: one self-contained HTML file (inline CSS and SVG, no network) that shows the
variants side by side with confidence intervals and a verdict, then every sample down to the failing
test, the insecure line and the migration that would not roll back."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from pygments.formatters import HtmlFormatter

from harness.records import SampleRecord
from harness.records.transcript import ResponseEvent, ToolEvent, read_transcript
from harness.report import charts
from harness.report.exports import run_notes
from harness.report.gate import GateSpec, gate
from harness.report.stats import ESTIMAND, METRICS, compare, frame, suite_fixtures, summarise
from harness.report.transcript_view import code, markdown, tool_view
from harness.store import RunDir

SHOWN_SUFFIXES = (".py", ".toml", ".ini", ".txt", ".md", ".yaml", ".yml", ".cfg", ".mako", ".json", ".sql")
MAX_FILE_BYTES = 40_000
FORMATTER = HtmlFormatter(noclasses=True, nowrap=False, style="friendly")


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _workspace_files(run: RunDir, sample: str) -> list[dict[str, Any]]:
    root = run.path / "samples" / sample / "workspace"
    if not root.is_dir():
        return []
    files = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        if path.suffix in SHOWN_SUFFIXES and path.stat().st_size <= MAX_FILE_BYTES:
            name = str(path.relative_to(root))
            files.append({"name": name, "html": code(name, path.read_text(errors="replace"))})
    return files


def _transcript(run: RunDir, sample: str) -> list[dict[str, Any]]:
    """The transcript's events for the report; a sub-agent's events nested under the call that ran it."""
    events: list[dict[str, Any]] = []
    for event in read_transcript(run.path / "samples" / sample / "transcript.jsonl"):
        if isinstance(event, ResponseEvent):
            texts = [b.get("text", "") for b in event.content if b.get("type") == "text"]
            text = "\n\n".join(t for t in texts if t.strip())
            events.append(
                {"kind": "model", "turn": event.turn, "html": markdown(text), "stop": event.stop_reason}
                | {"parent": event.parent, "children": []}
            )
        elif isinstance(event, ToolEvent):
            given = event.input if isinstance(event.input, dict) else {"input": event.input}
            summary, body = tool_view(event.name or "tool", given, event.output)
            events.append(
                {
                    "kind": "tool",
                    "turn": event.turn,
                    "summary": summary,
                    "body": body,
                    "error": event.is_error,
                }
                | {"parent": event.parent, "call_id": event.call_id, "children": []}
            )
    return nest(events)


def nest(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events whose ``parent`` names a call of the list go into that call's ``children`` (in order);
    the others stay at the top."""
    calls = {e["call_id"]: e for e in events if e.get("call_id")}
    top = []
    for event in events:
        parent = calls.get(event.get("parent"))
        if parent is not None and parent is not event:
            parent["children"].append(event)
        else:
            top.append(event)
    return top


def comparison_pairs(variants: list[str], baseline: str | None) -> list[tuple[str, str]]:
    """(baseline, candidate) pairs to compare: every variant against ``baseline`` when it is given;
    else every built-in-loop variant against the first, and each `X[runtime]` against `X` (how far the
    runtimes are apart for the same prompt)."""
    if baseline in variants:
        return [(str(baseline), v) for v in variants if v != baseline]
    plain = [v for v in variants if "[" not in v]
    pairs = [(plain[0], v) for v in plain[1:]] if plain else []
    pairs += [(v.split("[", 1)[0], v) for v in variants if "[" in v and v.split("[", 1)[0] in variants]
    return pairs or [(variants[0], v) for v in variants[1:]]


def _comparisons(
    records: list[SampleRecord], df: pd.DataFrame, baseline: str | None, spec: GateSpec, planned: list[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The verdict rows of every compared pair, and, with a baseline, each candidate's gate (PASS or FAIL
    and the reason per gated metric), from one comparison per pair."""
    rows, gates = [], []
    for base, candidate in comparison_pairs(sorted(df["variant"].unique()), baseline):
        diffs = compare(df, base, candidate)
        for d in diffs:
            rows.append(
                {
                    "baseline": base,
                    "candidate": candidate,
                    "metric": d.metric,
                    "pairs": f"{d.n_baseline} + {d.n_candidate} on {d.fixtures}",
                    "diff": _fmt(d.diff, 3),
                    "ci": f"{_fmt(d.low, 3)} to {_fmt(d.high, 3)}",
                    "p": _fmt(d.p_holm, 3),
                    "mde": _fmt(d.mde, 3),
                    "verdict": d.verdict,
                }
            )
        if base == baseline:
            pair = [r for r in records if (r.variant or "workspace") in (base, candidate)]
            result = gate(diffs, spec, suite_fixtures(pair, planned))
            gates.append({"candidate": candidate, "passed": result.passed, "reasons": result.reasons})
    return rows, gates


def _prompt_diffs(runs: list[RunDir]) -> list[dict[str, str]]:
    from harness.agents.variants import load_variant, prompt_diff
    from harness.config import find_project_root

    specs: list[str] = []
    for run in runs:
        specs += [s for s in run.manifest.config.get("grid", {}).get("variants", []) if s not in specs]
    if not runs:
        return []
    root = find_project_root(runs[0].path)
    loaded = []
    for spec in specs:
        try:
            loaded.append(load_variant(spec, root))
        except Exception:  # noqa: S112 - a variant gone from the tree is left out of the diffs
            continue
    return [
        {"old": a.source, "new": b.source, "diff": prompt_diff(a, b)} for a, b in itertools.pairwise(loaded)
    ]


def _charts(summary: pd.DataFrame, df: pd.DataFrame, counts: list[dict[str, Any]]) -> dict[str, Markup]:
    svgs = {
        "overview": charts.overview(summary),
        "heatmap": charts.heatmap(df),
        "scatter": charts.cost_quality(df),
        "cwe": charts.cwe_bars(pd.DataFrame(counts, columns=["variant", "cwe", "kind", "n"])),
    }
    return {name: Markup(svg) for name, svg in svgs.items()}  # noqa: S704 - matplotlib's own SVG, text escaped


def render_html(
    records: list[SampleRecord],
    runs: list[RunDir],
    baseline: str | None,
    spec: GateSpec,
    planned: list[str] | None = None,
) -> str:
    df = frame(records)
    summary = summarise(df) if not df.empty else pd.DataFrame()
    counts = []
    for r in records:
        if r.security:
            for cwe, n in r.security.per_cwe().items():
                for kind in ("static", "exploited"):
                    if n[kind]:
                        counts.append(
                            {"variant": r.variant or "workspace", "cwe": cwe, "kind": kind, "n": n[kind]}
                        )
    run_of = {
        r.sample_id: run for run in runs for r in records if (run.path / "samples" / r.sample_id).is_dir()
    }
    samples = [
        {
            "record": r,
            "files": _workspace_files(run_of[r.sample_id], r.sample_id) if r.sample_id in run_of else [],
            "transcript": _transcript(run_of[r.sample_id], r.sample_id) if r.sample_id in run_of else [],
        }
        for r in sorted(records, key=lambda r: r.sample_id)
    ]
    env = Environment(
        loader=PackageLoader("harness.report", "templates"), autoescape=select_autoescape(["html", "j2"])
    )
    env.filters["fmt"] = _fmt
    template = env.get_template("report.html.j2")
    verdicts, gates = _comparisons(records, df, baseline, spec, planned or []) if not df.empty else ([], [])
    return template.render(
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        runs=[run.run_id for run in runs],
        samples=samples,
        notes=run_notes(records),
        summary=summary.to_dict("records"),
        metrics=[m for m in METRICS],
        verdicts=verdicts,
        gates=gates,
        baseline=baseline,
        gate_spec=spec.describe(),
        estimand=ESTIMAND,
        charts={} if df.empty else _charts(summary, df, counts),
        diffs=_prompt_diffs(runs),
    )
