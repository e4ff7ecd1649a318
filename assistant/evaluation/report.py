"""The evaluation report: metrics.json, results.jsonl, report.md and report.png."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from assistant.evaluation.faq import QuestionResult
from assistant.evaluation.metrics import KS


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, list):
        return "[" + ", ".join(f"{v:.3f}" for v in value) + "]"
    return str(value)


def write_report(
    results: list[QuestionResult],
    summary: dict[str, object],
    modes: list[str],
    out: Path,
    sources: list[str],
    errors: list[str],
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    with open(out / "results.jsonl", "w", encoding="utf-8") as handle:
        for r in results:
            handle.write(json.dumps(asdict(r), ensure_ascii=False) + "\n")
    lines = [
        "# Báo cáo đánh giá",
        "",
        f"Tệp: {', '.join(sources)}; {summary['questions']} câu hỏi ({summary['in_scope']} trong phạm vi).",
        "",
    ]
    if errors:
        lines += ["## Dòng bị bỏ qua", "", *[f"- {e}" for e in errors], ""]
    lines += _retrieval_table(summary, modes) + _answer_table(summary) + _group_tables(summary)
    lines += _worst(results)
    (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_chart(summary, modes, out / "report.png")


def _retrieval_table(summary: dict[str, object], modes: list[str]) -> list[str]:
    lines = [
        "## Truy hồi theo chế độ",
        "",
        "| chế độ | hit@1 | hit@3 | hit@5 | hit@10 | MRR@10 | nDCG@10 |",
        "|---|---|---|---|---|---|---|",
    ]
    for mode in modes:
        cells = [
            _fmt(summary.get(f"retrieval.{mode}.{m}", 0.0))
            for m in ("hit@1", "hit@3", "hit@5", "hit@10", "mrr@10", "ndcg@10")
        ]
        lines.append(f"| {mode} | " + " | ".join(cells) + " |")
    return [*lines, "", "Khoảng tin cậy 95% (bootstrap) có trong metrics.json.", ""]


def _answer_table(summary: dict[str, object]) -> list[str]:
    keys = [k for k in summary if k.startswith(("answer.", "latency.", "routing."))]
    if not keys:
        return []
    return [
        "## Câu trả lời",
        "",
        "| chỉ số | giá trị |",
        "|---|---|",
        *[f"| {k} | {_fmt(summary[k])} |" for k in keys],
        "",
    ]


def _group_tables(summary: dict[str, object]) -> list[str]:
    lines: list[str] = []
    for name in ("accents", "aspect", "field"):
        keys = sorted(k for k in summary if k.startswith(f"by_{name}.") and k.endswith(".n"))
        if not keys:
            continue
        lines += [f"## Theo {name}", "", "| nhóm | số câu | hit@5 | độ phủ ý trả lời |", "|---|---|---|---|"]
        for key in keys:
            prefix = key[: -len(".n")]
            group = prefix.split(".", 1)[1]
            lines.append(
                f"| {group} | {summary[key]} | {_fmt(summary.get(prefix + '.hit@5', '–'))} | "
                f"{_fmt(summary.get(prefix + '.answer_point_recall', '–'))} |"
            )
        lines.append("")
    return lines


def _worst(results: list[QuestionResult]) -> list[str]:
    worst = sorted(
        (r for r in results if r.problem),
        key=lambda r: (r.ranks.get("hybrid") is not None, len(r.points_found)),
    )[:20]
    if not worst:
        return []
    rows = [f"| {r.id} | {r.question.replace('|', '/')} | {r.problem.replace('|', '/')} |" for r in worst]
    return ["## 20 câu kém nhất", "", "| id | câu hỏi | vấn đề |", "|---|---|---|", *rows]


def write_chart(summary: dict[str, object], modes: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    width = 0.8 / max(1, len(modes))
    for i, mode in enumerate(modes):
        values = [summary.get(f"retrieval.{mode}.hit@{k}", 0.0) for k in KS]
        left.bar([x + i * width for x in range(len(KS))], values, width, label=mode)
    left.set_xticks([x + width * (len(modes) - 1) / 2 for x in range(len(KS))], [f"hit@{k}" for k in KS])
    left.set_ylim(0, 1)
    left.set_title("Truy hồi theo chế độ")
    left.legend()
    groups = sorted(
        k[: -len(".hit@5")] for k in summary if k.startswith("by_accents.") and k.endswith(".hit@5")
    )
    groups += sorted(
        k[: -len(".hit@5")] for k in summary if k.startswith("by_aspect.") and k.endswith(".hit@5")
    )
    right.barh([g.split(".", 1)[1] for g in groups], [summary[g + ".hit@5"] for g in groups], color="#2a7")
    right.set_xlim(0, 1)
    right.set_title("hybrid hit@5 theo nhóm")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
