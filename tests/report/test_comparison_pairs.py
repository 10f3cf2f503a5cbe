"""Which variants the report compares when no baseline is named: loop variants against the first, and each
prompt under another runtime against itself under the loop."""

from __future__ import annotations

from harness.report.html import comparison_pairs


def test_each_runtime_is_paired_with_the_same_prompt_under_the_loop() -> None:
    variants = sorted(["a", "a[claude-code]", "b", "b[claude-code]"])
    assert comparison_pairs(variants, None) == [("a", "b"), ("a", "a[claude-code]"), ("b", "b[claude-code]")]


def test_a_named_baseline_is_compared_with_every_other_variant() -> None:
    assert comparison_pairs(["a", "a[claude-code]", "b"], "b") == [("b", "a"), ("b", "a[claude-code]")]


def test_without_loop_variants_the_first_is_the_baseline() -> None:
    assert comparison_pairs(["a[claude-code]", "b[claude-code]"], None) == [
        ("a[claude-code]", "b[claude-code]")
    ]
    assert comparison_pairs(["a"], None) == []
