"""Command line: ``assistant ingest|search|stats ...`` (JSON output is a contract other tools rely on)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from assistant.config import get_settings
from assistant.conversation import SessionFile
from assistant.errors import IndexUnavailable, UnknownFilter
from assistant.service import Assistant


def _print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")


def read_questions(path: Path) -> Iterator[str]:
    """Questions from JSONL (a 'question' field) or plain text, one per line; blank lines skipped."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                yield str(json.loads(line)["question"])
            except (json.JSONDecodeError, KeyError) as exc:
                raise SystemExit(
                    f"{path}:{number}: dòng JSON không có trường 'question' hợp lệ ({exc})"
                ) from exc
        else:
            yield line


def _assistant(args: argparse.Namespace) -> Assistant:
    return Assistant(get_settings(index_dir=getattr(args, "index", None)))


def cmd_ingest(args: argparse.Namespace) -> int:
    report = _assistant(args).ingest([Path(p) for p in args.paths], progress=not args.json)
    if args.json:
        _print_json(report.as_dict())
    else:
        for name, reason in report.failed:
            print(f"LỖI  {name}: {reason}", file=sys.stderr)
        for name, reason in report.skipped:
            print(f"BỎ QUA  {name}: {reason}", file=sys.stderr)
        print(report.summary())
    return 1 if report.failed and not report.indexed and not report.unchanged else 0


def cmd_search(args: argparse.Namespace) -> int:
    assistant = _assistant(args)
    filters = {"field": args.field, "level": args.level, "kind": args.kind}
    questions = list(read_questions(Path(args.batch))) if args.batch else [args.question]
    for question in questions:
        result = assistant.search(question, k=args.k, filters=filters)
        hits = [h.as_dict() for h in result.hits]
        if args.json:
            _print_json(hits)
        else:
            print(f"? {question}")
            for n, hit in enumerate(hits, start=1):
                print(f"{n:2d}. [{hit['score']:.4f}] {hit['title']} — {hit['section']} ({hit['source']})")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    assistant = _assistant(args)
    store = SessionFile(assistant.settings.index_dir / "cli-sessions.json")
    if args.batch:
        questions, session_id = list(read_questions(Path(args.batch))), None
    else:
        questions, session_id = [args.question], args.session
    if session_id:
        store.restore(assistant.sessions, session_id)
    channel = "cli" if not args.batch or args.log else None  # batches are logged only when asked
    for question in questions:
        answer = assistant.ask(question, session_id=session_id, channel=channel)
        if args.json:
            _print_json(answer.as_dict())
        else:
            print(answer.text)
            for c in answer.citations:
                print(f"  [{c.n}] {c.title} — {c.section} ({c.url or c.source})")
    if session_id:
        store.save(assistant.sessions, session_id)
    if channel and assistant.question_log is not None:
        assistant.question_log.flush()
    return 0


def cmd_log_purge(args: argparse.Namespace) -> int:
    log = _assistant(args).question_log
    removed = log.purge() if log is not None else 0
    if args.json:
        _print_json({"removed": removed})
    else:
        print(f"Đã xoá {removed} câu hỏi cũ hơn thời hạn lưu.")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from assistant.evaluation.faq import load_items
    from assistant.evaluation.metrics import metrics
    from assistant.evaluation.report import write_report
    from assistant.evaluation.runner import EVAL_MODES, run

    mapping = dict(part.split("=", 1) for part in args.map.split(",") if "=" in part) if args.map else {}
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in EVAL_MODES]
    if unknown:
        raise ValueError(f"chế độ không hợp lệ: {unknown}; dùng {', '.join(EVAL_MODES)}")
    items, errors = [], []
    for file in args.files:
        loaded = load_items(Path(file), mapping)
        items += loaded.items
        errors += loaded.errors
    for error in errors:
        print(f"BỎ QUA {error}", file=sys.stderr)
    if not items:
        raise ValueError("không có câu hỏi hợp lệ nào để đánh giá")
    assistant = _assistant(args)
    results = run(assistant, items, modes, answers=not args.no_answers, progress=not args.json)
    summary = metrics(results, modes)
    out = Path(args.out)
    write_report(results, summary, modes, out, [Path(f).name for f in args.files], errors)
    if args.json:
        _print_json(summary)
    else:
        written = ", ".join(
            str(out / name) for name in ("report.md", "metrics.json", "results.jsonl", "report.png")
        )
        print(f"Đã ghi {written}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    stats = _assistant(args).stats()
    if args.json:
        _print_json(stats)
    else:
        for key, value in stats.items():
            print(f"{key}: {value}")
    return 0


def cmd_records_sync(args: argparse.Namespace) -> int:
    report, ingest = _assistant(args).sync_records(Path(args.folder), dry_run=args.dry_run)
    data = {**report.as_dict(), "ingest": ingest.as_dict() if ingest else None}
    if args.json:
        _print_json(data)
    else:
        for key in ("new", "changed", "removed", "stale", "uncovered"):
            print(f"{key}: {len(data[key])}")
            for row in data[key][:20]:
                print(f"  {row['code']}  {row['title']}")
        if ingest:
            print(ingest.summary())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assistant", description="Trợ lý ảo hành chính")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--index", help="thư mục chỉ mục (như ASSISTANT_INDEX_DIR)")
        p.add_argument("--json", action="store_true", help="in kết quả dạng JSON")

    p = sub.add_parser("ingest", help="nạp tệp hoặc thư mục vào chỉ mục (chỉ phần thay đổi)")
    p.add_argument("paths", nargs="+")
    common(p)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("search", help="tìm đoạn văn bản liên quan")
    p.add_argument("question", nargs="?")
    p.add_argument("--batch", help="tệp câu hỏi: JSONL có trường 'question' hoặc mỗi dòng một câu")
    p.add_argument("--k", type=int, help="số tài liệu (mặc định ASSISTANT_TOP_K)")
    p.add_argument("--field")
    p.add_argument("--level")
    p.add_argument("--kind")
    common(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", help="hỏi trợ lý, trả lời kèm trích dẫn")
    p.add_argument("question", nargs="?")
    p.add_argument("--session", help="mã phiên để hỏi tiếp (giữ giữa các lần gọi)")
    p.add_argument("--batch", help="tệp câu hỏi; mỗi câu là một phiên mới")
    p.add_argument("--log", action="store_true", help="ghi cả câu hỏi của --batch vào nhật ký câu hỏi")
    common(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", help="đánh giá theo bộ câu hỏi FAQ")
    p.add_argument("files", nargs="+", help="JSONL hoặc CSV")
    p.add_argument("--modes", default="bm25,dense,hybrid,naive")
    p.add_argument("--out", default="eval/out")
    p.add_argument("--map", help="ánh xạ cột CSV, ví dụ question=Câu hỏi,relevant=Mã")
    p.add_argument("--no-answers", action="store_true", help="chỉ đo truy hồi")
    common(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("stats", help="thống kê chỉ mục")
    common(p)
    p.set_defaults(func=cmd_stats)

    logs = sub.add_parser("log", help="nhật ký câu hỏi")
    p = logs.add_subparsers(dest="action", required=True).add_parser(
        "purge", help="xoá câu hỏi cũ hơn ASSISTANT_QUESTION_LOG_DAYS"
    )
    common(p)
    p.set_defaults(func=cmd_log_purge)

    records = sub.add_parser("records", help="hồ sơ thủ tục chính thức (bản xuất của Cổng DVC)")
    actions = records.add_subparsers(dest="action", required=True)
    p = actions.add_parser("sync", help="so sánh thư mục hồ sơ với chỉ mục và các hướng dẫn, rồi cập nhật")
    p.add_argument("folder")
    p.add_argument("--dry-run", action="store_true", help="chỉ báo cáo, không cập nhật chỉ mục")
    common(p)
    p.set_defaults(func=cmd_records_sync)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("search", "ask") and not (args.question or args.batch):
        parser.error("cần một câu hỏi hoặc --batch FILE")
    try:
        return args.func(args)
    except (IndexUnavailable, UnknownFilter, ValueError, OSError) as exc:
        print(f"lỗi: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("đã dừng; chỉ mục trước đó vẫn nguyên vẹn", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
