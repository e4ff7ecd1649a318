"""What staff read from the question log: counts by status, channel and procedure, rates over time,
latency, feedback per procedure, the 👎 comments, and the log as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import statistics
from collections import Counter, defaultdict

STATUSES = ("answered", "clarify", "refused")
CSV_COLUMNS = (
    "at", "channel", "session", "question", "status", "reason", "doc_id", "title", "sources", "latency_ms",
    "feedback", "comment",
)  # fmt: skip


def parse_day(text: str | None, end: bool = False) -> dt.datetime | None:
    """'2026-11-30' as the start of that day (UTC), or the start of the next one for an end date."""
    if not text:
        return None
    day = dt.date.fromisoformat(text.strip())
    return dt.datetime.combine(day + dt.timedelta(days=1 if end else 0), dt.time())


def summary(rows: list[dict], top: int = 10) -> dict[str, object]:
    statuses = Counter(r["status"] for r in rows)
    procedures = Counter((r["doc_id"], r["title"]) for r in rows if r["status"] == "answered" and r["doc_id"])
    latencies = [r["latency_ms"] for r in rows]
    return {
        "total": len(rows),
        "by_status": {status: statuses.get(status, 0) for status in STATUSES},
        "by_reason": dict(Counter(r["reason"] for r in rows if r["reason"])),
        "by_channel": dict(Counter(r["channel"] for r in rows)),
        "top_procedures": [
            {"doc_id": d, "title": t, "count": n} for (d, t), n in procedures.most_common(top)
        ],
        "median_latency_ms": round(statistics.median(latencies), 1) if latencies else 0.0,
        "feedback": {
            "up": sum(r["feedback"] == "up" for r in rows),
            "down": sum(r["feedback"] == "down" for r in rows),
        },
    }


def per_day(rows: list[dict]) -> list[dict[str, object]]:
    """Questions per day and status, with the day's refusal and clarification rates."""
    days: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        days[_day(r["at"])][r["status"]] += 1
    out = []
    for day in sorted(days):
        counts = days[day]
        total = sum(counts.values())
        out.append(
            {
                "day": day,
                **{status: counts.get(status, 0) for status in STATUSES},
                "refusal_rate": counts.get("refused", 0) / total,
                "clarify_rate": counts.get("clarify", 0) / total,
            }
        )
    return out


def feedback_by_procedure(rows: list[dict]) -> list[dict[str, object]]:
    counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for r in rows:
        if r["feedback"] and r["doc_id"]:
            counts[(r["doc_id"], r["title"])][r["feedback"]] += 1
    return sorted(
        (
            {
                "doc_id": d,
                "title": t,
                "up": c["up"],
                "down": c["down"],
                "up_share": c["up"] / (c["up"] + c["down"]),
            }
            for (d, t), c in counts.items()
        ),
        key=lambda row: (row["up_share"], -row["down"]),
    )


def downvotes(rows: list[dict]) -> list[dict[str, object]]:
    return [
        {"at": _day(r["at"]), "question": r["question"], "title": r["title"], "comment": r["comment"]}
        for r in reversed(rows)
        if r["feedback"] == "down"
    ]


def csv_text(rows: list[dict]) -> str:
    """One line per logged ask (already redacted), for spreadsheets (UTF-8 with BOM)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        values = {**r, "at": _iso(r["at"]), "sources": ", ".join(json.loads(r["sources"] or "[]"))}
        writer.writerow([values[c] for c in CSV_COLUMNS])
    return "\ufeff" + out.getvalue()


def _day(at: dt.datetime) -> str:
    return at.date().isoformat()


def _iso(at: dt.datetime) -> str:
    return at.isoformat(timespec="seconds") + "Z"
