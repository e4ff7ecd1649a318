"""Retrieval and answer metrics, with bootstrap confidence intervals, and their breakdowns."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable

from assistant.evaluation.faq import QuestionResult

KS = (1, 3, 5, 10)


def first_rank(ranked: list[str], relevant: Iterable[str]) -> int | None:
    """0-based rank of the first relevant document, or None."""
    wanted = set(relevant)
    return next((i for i, doc in enumerate(ranked) if doc in wanted), None)


def hit_at(rank: int | None, k: int) -> float:
    return 1.0 if rank is not None and rank < k else 0.0


def reciprocal_rank(rank: int | None, k: int = 10) -> float:
    return 1.0 / (rank + 1) if rank is not None and rank < k else 0.0


def ndcg_at(ranked: list[str], relevant: Iterable[str], k: int = 10) -> float:
    """Binary-relevance nDCG@k."""
    wanted = set(relevant)
    gain = sum(1.0 / math.log2(i + 2) for i, doc in enumerate(ranked[:k]) if doc in wanted)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(wanted), k)))
    return gain / ideal if ideal else 0.0


def bootstrap_ci(values: list[float], samples: int = 1000, seed: int = 13) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean."""
    if not values:
        return (0.0, 0.0)
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(samples))
    return (means[int(0.025 * samples)], means[int(0.975 * samples) - 1])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _retrieval(results: list[QuestionResult], modes: list[str]) -> dict[str, float]:
    scored = [r for r in results if r.relevant]
    out: dict[str, float] = {}
    for mode in modes:
        ranks = [r.ranks.get(mode) for r in scored]
        for k in KS:
            values = [hit_at(rank, k) for rank in ranks]
            out[f"retrieval.{mode}.hit@{k}"] = mean(values)
            if k in (1, 5):
                low, high = bootstrap_ci(values)
                out[f"retrieval.{mode}.hit@{k}.ci95"] = [low, high]
        rr = [reciprocal_rank(rank) for rank in ranks]
        out[f"retrieval.{mode}.mrr@10"] = mean(rr)
        out[f"retrieval.{mode}.mrr@10.ci95"] = list(bootstrap_ci(rr))
        ndcg = [r.ndcg.get(mode, 0.0) for r in scored]
        out[f"retrieval.{mode}.ndcg@10"] = mean(ndcg)
        out[f"retrieval.{mode}.ndcg@10.ci95"] = list(bootstrap_ci(ndcg))
    return out


def _answers(results: list[QuestionResult]) -> dict[str, float]:
    answered = [r for r in results if r.status]
    if not answered:
        return {}
    in_scope = [r for r in answered if r.relevant]
    out_scope = [r for r in answered if not r.relevant]
    found = sum(len(r.points_found) for r in in_scope)
    total = found + sum(len(r.points_missed) for r in in_scope)
    refused = [r for r in answered if r.status == "refused"]
    supported = [r.citation_supported for r in in_scope if r.citation_supported is not None]
    latencies = [r.latency_ms for r in answered]
    return {
        "answer.answer_point_recall": found / total if total else 0.0,
        "answer.citation_validity": mean([1.0 if r.citation_valid else 0.0 for r in answered]),
        "answer.citation_support": mean([1.0 if s else 0.0 for s in supported]),
        "answer.clarify_rate": mean([1.0 if r.status == "clarify" else 0.0 for r in in_scope]),
        "answer.refusal_precision": (sum(1 for r in refused if not r.relevant) / len(refused))
        if refused
        else 0.0,
        "answer.refusal_recall": (
            sum(1 for r in out_scope if r.status == "refused") / len(out_scope) if out_scope else 0.0
        ),
        "latency.p50_ms": percentile(latencies, 0.5),
        "latency.p95_ms": percentile(latencies, 0.95),
    }


def _routing(results: list[QuestionResult]) -> dict[str, float]:
    """The right procedure, or an honest refusal: judged by what each question expects."""
    answered = [r for r in results if r.status]
    expected = {
        kind: [r for r in answered if r.expect == kind] for kind in ("answer", "not_in_kb", "off_topic")
    }
    in_scope = [r for r in expected["answer"] if r.relevant]
    out: dict[str, float] = {}

    def share(rows: list[QuestionResult], test) -> float:
        return mean([1.0 if test(r) else 0.0 for r in rows])

    if in_scope:
        right = lambda r: r.status == "answered" and r.answer_doc in r.relevant  # noqa: E731
        out["routing.right_first"] = share(in_scope, right)
        for label, accents in (("accented", True), ("unaccented", False)):
            rows = [r for r in in_scope if r.accents == accents]
            if rows:
                out[f"routing.right_first.{label}"] = share(rows, right)
        out["routing.wrong_procedure"] = share(
            in_scope, lambda r: r.status == "answered" and r.answer_doc not in r.relevant
        )
        out["routing.false_refusal"] = share(in_scope, lambda r: r.status == "refused")
        out["routing.clarify"] = share(in_scope, lambda r: r.status == "clarify")
    if expected["not_in_kb"]:
        rows = expected["not_in_kb"]
        out["routing.honest_not_covered"] = share(rows, lambda r: r.reason == "not_in_knowledge_base")
        out["routing.not_covered_refused"] = share(rows, lambda r: r.status == "refused")
        out["routing.not_covered_answered"] = share(rows, lambda r: r.status == "answered")
    if expected["off_topic"]:
        out["routing.off_topic_refused"] = share(expected["off_topic"], lambda r: r.status == "refused")
    return out


def metrics(results: list[QuestionResult], modes: Iterable[str]) -> dict[str, object]:
    modes = list(modes)
    out: dict[str, object] = {"questions": len(results), "in_scope": sum(1 for r in results if r.relevant)}
    out.update(_retrieval(results, modes))
    out.update(_answers(results))
    out.update(_routing(results))
    main = "hybrid" if "hybrid" in modes else (modes[0] if modes else None)
    for name, key in (
        ("aspect", lambda r: r.aspect),
        ("accents", lambda r: "có dấu" if r.accents else "không dấu"),
        ("field", lambda r: r.field),
    ):
        groups: dict[str, list[QuestionResult]] = defaultdict(list)
        for r in results:
            groups[key(r)].append(r)
        for group, members in sorted(groups.items()):
            prefix = f"by_{name}.{group}"
            out[f"{prefix}.n"] = len(members)
            if main and any(m.relevant for m in members):
                scored = [m for m in members if m.relevant]
                out[f"{prefix}.hit@5"] = mean([hit_at(m.ranks.get(main), 5) for m in scored])
            points = [m for m in members if m.points_found or m.points_missed]
            if points:
                found = sum(len(m.points_found) for m in points)
                out[f"{prefix}.answer_point_recall"] = found / sum(
                    len(m.points_found) + len(m.points_missed) for m in points
                )
    return out
