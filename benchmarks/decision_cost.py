"""What a decision costs, by suite shape: a few large fixtures (whole services from a spec) against many
small tasks (changes to an existing codebase), at equal dollars and at the dollars each needs to decide.

Each shape's fixtures are drawn from benchmarks/scenarios.py (by default the ``mixed`` family: steady
fixtures and fixtures an agent nails or breaks, alternating, the most common pattern in agent suites);
the per-sample costs are parameters (defaults: $1.50 for a large fixture, the demo's replayed samples
priced at Sonnet's rates, and $0.25 for a small task, a sixth of the tokens). Both variants are sampled.

For every shape it prints, at the budget given (`--budget`, both variants):
- the epochs and samples the budget buys;
- non-inferiority at the margin: how often an unchanged candidate passes, and how often one worse by the
  margin is caught;
- no-regression: how often an unchanged candidate passes, and how often one worse by the margin fails;
- the mean detectable difference (80% power);
and then the dollars each shape needs before non-inferiority passes an unchanged candidate 80% of the
time (the price of a decision that a prompt change is safe).

    .venv/bin/python -m benchmarks.decision_cost [--budget 100] [--large 1.5] [--small 0.25] [--margin 0.1]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from benchmarks.calibration import suite
from benchmarks.scenarios import Scenario, draw
from harness.report.intervals import detectable, difference_interval
from harness.report.stats import NEGLIGIBLE_SCORE

MAX_EPOCHS = 40


@dataclass(frozen=True)
class Shape:
    name: str
    fixtures: int
    cost: float  # dollars a sample


@dataclass(frozen=True)
class Outcome:
    epochs: int
    ni_passes: float
    ni_caught: float
    nr_passes: float
    nr_caught: float
    detectable: float


def judge(family: str, fixtures: int, epochs: int, margin: float, runs: int, seed: int) -> Outcome:
    rng = np.random.default_rng(seed)
    s = Scenario(family, fixtures, epochs)
    equal, worse = draw(rng, s, runs, 0.0), draw(rng, s, runs, -margin)
    if equal is None or worse is None:
        raise SystemExit(f"{family} at {fixtures}x{epochs} cannot be {margin} worse")
    a, b = suite(equal.a, s.binary), suite(equal.b, s.binary)
    _, low, high = difference_interval(a, b)
    _, low_w, high_w = difference_interval(suite(worse.a, s.binary), suite(worse.b, s.binary))
    return Outcome(
        epochs=epochs,
        ni_passes=float((low >= -margin).mean()),
        ni_caught=float((low_w < -margin).mean()),
        nr_passes=float((high >= -NEGLIGIBLE_SCORE).mean()),
        nr_caught=float((high_w < -NEGLIGIBLE_SCORE).mean()),
        detectable=float(np.mean(detectable(a, b))),
    )


def price_of_deciding(
    shape: Shape, family: str, margin: float, runs: int, seed: int
) -> tuple[int, float, float] | None:
    """The fewest epochs (with their dollars and power) at which non-inferiority passes an unchanged
    candidate 80% of the time; None beyond MAX_EPOCHS."""
    for epochs in range(2, MAX_EPOCHS + 1):
        made = judge(family, shape.fixtures, epochs, margin, runs, seed + epochs)
        if made.ni_passes >= 0.8:
            return epochs, 2 * shape.fixtures * epochs * shape.cost, made.ni_passes
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=100.0, help="dollars, both variants")
    parser.add_argument("--large", type=float, default=1.5, help="dollars a sample of a large fixture")
    parser.add_argument("--small", type=float, default=0.25, help="dollars a sample of a small task")
    parser.add_argument("--margin", type=float, default=0.1)
    parser.add_argument("--family", default="mixed", help="the scenario family fixtures are drawn from")
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261206)
    args = parser.parse_args()
    shapes = [
        Shape("3 large fixtures", 3, args.large),
        Shape("6 large fixtures", 6, args.large),
        Shape("15 small tasks", 15, args.small),
        Shape("30 small tasks", 30, args.small),
        Shape("60 small tasks", 60, args.small),
    ]
    print(
        f"budget ${args.budget:.0f} (both variants), a large fixture ${args.large:.2f} a sample, a small "
        f"task ${args.small:.2f}; margin {args.margin}; fixtures from the {args.family!r} scenarios; "
        f"{args.runs} simulated runs a cell"
    )
    print(
        "shape | epochs (samples) at the budget | non-inferiority: unchanged passes, worse caught | "
        "no-regression: unchanged passes, worse caught | detectable | dollars until non-inferiority "
        "passes an unchanged candidate 80% of the time (epochs)"
    )
    for index, shape in enumerate(shapes):
        epochs = int(args.budget // (2 * shape.fixtures * shape.cost))
        if epochs < 2:
            at_budget = "fewer than 2 epochs"
        else:
            o = judge(args.family, shape.fixtures, epochs, args.margin, args.runs, args.seed + 100 * index)
            at_budget = (
                f"{epochs} ({2 * shape.fixtures * epochs}) | {o.ni_passes:.2f}, {o.ni_caught:.2f} | "
                f"{o.nr_passes:.2f}, {o.nr_caught:.2f} | {o.detectable:.3f}"
            )
        price = price_of_deciding(shape, args.family, args.margin, args.runs, args.seed + 100 * index)
        priced = f"more than {MAX_EPOCHS} epochs" if price is None else f"${price[1]:.0f} ({price[0]})"
        print(f"{shape.name} | {at_budget} | {priced}", flush=True)


if __name__ == "__main__":
    main()
