"""Charts as inline SVG (matplotlib, no external resources)."""

from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

plt.rcParams.update(
    {"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False, "axes.spines.right": False}
)


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def overview(
    summary: pd.DataFrame, metrics: tuple[str, ...] = ("tests", "all_pass", "migrations", "security")
) -> str:
    figure, axis = plt.subplots(figsize=(7, 2.8))
    width = 0.8 / max(len(summary), 1)
    x = np.arange(len(metrics))
    for i, row in enumerate(summary.to_dict("records")):
        means = [row[m] if not math.isnan(row[m]) else 0 for m in metrics]
        lows = [max(0.0, row[m] - row[f"{m}_low"]) if not math.isnan(row[f"{m}_low"]) else 0 for m in metrics]
        highs = [
            max(0.0, row[f"{m}_high"] - row[m]) if not math.isnan(row[f"{m}_high"]) else 0 for m in metrics
        ]
        axis.bar(x + i * width, means, width, yerr=[lows, highs], capsize=3, label=str(row["variant"]))
    axis.set_xticks(x + width * (len(summary) - 1) / 2, metrics)
    axis.set_ylim(0, 1.05)
    axis.set_ylabel("mean (95% CI)")
    axis.legend(fontsize=7, frameon=False, loc="lower right")
    return _svg(figure)


def heatmap(df: pd.DataFrame, metric: str = "tests") -> str:
    table = df.pivot_table(index="variant", columns="fixture", values=metric, aggfunc="mean")
    figure, axis = plt.subplots(figsize=(1.6 + 1.2 * len(table.columns), 0.8 + 0.45 * len(table.index)))
    image = axis.imshow(table.to_numpy(dtype=float), vmin=0, vmax=1, cmap="RdYlGn", aspect="auto")
    axis.set_xticks(range(len(table.columns)), table.columns)
    axis.set_yticks(range(len(table.index)), table.index)
    for (i, j), value in np.ndenumerate(table.to_numpy(dtype=float)):
        axis.text(j, i, "-" if math.isnan(value) else f"{value:.2f}", ha="center", va="center", fontsize=8)
    figure.colorbar(image, ax=axis, fraction=0.05)
    axis.set_title(f"mean {metric} pass rate per fixture", fontsize=9)
    return _svg(figure)


def cost_quality(df: pd.DataFrame) -> str:
    figure, axis = plt.subplots(figsize=(5, 3))
    for variant, group in df.groupby("variant"):
        axis.scatter(group["cost"].fillna(0), group["tests"], label=str(variant), alpha=0.7, s=18)
    axis.set_xlabel("cost per sample ($)")
    axis.set_ylabel("hidden tests passed")
    axis.set_ylim(-0.05, 1.05)
    axis.legend(fontsize=7, frameon=False)
    return _svg(figure)


def cwe_bars(counts: pd.DataFrame) -> str:
    """``counts``: columns variant, cwe, kind (static | exploited), n."""
    if counts.empty:
        return "<p>No weakness found in any sample.</p>"
    return _svg(cwe_figure(counts))


def cwe_figure(counts: pd.DataFrame) -> Figure:
    table = counts.pivot_table(
        index="cwe", columns=["variant", "kind"], values="n", aggfunc="sum", fill_value=0
    )
    figure, axis = plt.subplots(figsize=(7, 0.6 + 0.35 * len(table.index)))
    left = np.zeros(len(table.index))
    for column in table.columns:
        values = table[column].to_numpy(dtype=float)
        axis.barh(table.index, values, left=left, label=f"{column[0]} ({column[1]})")
        left += values
    axis.set_xlabel("findings and exploited probes (all samples)")
    # beside the bars, never over them
    axis.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return figure
