"""The API's routes, one router per audience; each route is a thin call into the ``Assistant``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Header, Query, UploadFile
from fastapi.responses import PlainTextResponse, StreamingResponse
from pydantic import BaseModel, Field

from assistant.channels.access import admin_enabled, token_ok
from assistant.channels.api_errors import ApiError, guarded
from assistant.config import Settings
from assistant.ingest.uploads import check_upload
from assistant.insight.feedback import RATINGS
from assistant.pipeline.answers import Answer, Citation, Option
from assistant.service import Assistant


class Filters(BaseModel):
    field: str | None = None
    level: str | None = None
    kind: str | None = None


class AskRequest(BaseModel):
    question: str
    session_id: str | None = Field(None, max_length=100)
    filters: Filters | None = None


class AnswerOut(BaseModel):
    text: str = Field(description="Câu trả lời; mỗi dòng trích từ nguồn có dấu [n] trỏ tới citations.")
    status: Literal["answered", "clarify", "refused"]
    reason: str = Field(
        description=(
            "Vì sao: answered -> best_match | follow_up | picked_option | report_for_figures; "
            "clarify -> shared_name | close_scores; refused -> off_topic (không phải thủ tục hành chính) | "
            "not_in_knowledge_base (thủ tục chưa có trong cơ sở tri thức) | no_hits."
        )
    )
    citations: list[Citation]
    options: list[Option] = Field(description="Thủ tục để chọn (hỏi lại, hoặc thủ tục gần nhất khi từ chối).")
    related: list[Option] = Field(description="Thủ tục khác mà câu trả lời nhắc tên.")
    aspect: str
    doc_id: str | None
    backend: str
    flags: list[str]
    timings: dict[str, float]


class FeedbackRequest(BaseModel):
    session_id: str = Field("", max_length=100)
    question: str = Field(..., max_length=4000)
    answer: str = Field("", max_length=20000)
    rating: str
    comment: str = Field("", max_length=2000)


def system_routes(assistant: Assistant) -> APIRouter:
    router = APIRouter(tags=["hệ thống"])

    @router.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    @router.get("/readyz")
    def readyz() -> dict:
        snapshot = guarded(assistant.snapshot)
        guarded(assistant.index.store.ping)
        return {"status": "ready", "version": snapshot.name, "chunks": len(snapshot.ids)}

    return router


def citizen_routes(assistant: Assistant) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["hỏi đáp"])

    @router.post("/ask", response_model=AnswerOut)
    def ask(body: AskRequest, accept: Annotated[str, Header()] = "application/json"):
        filters = body.filters.model_dump() if body.filters else None
        if "text/event-stream" in accept:
            parts = guarded(lambda: assistant.ask_stream(body.question, body.session_id, filters, "api"))
            return StreamingResponse(_sse(parts), media_type="text/event-stream")
        answer: Answer = guarded(lambda: assistant.ask(body.question, body.session_id, filters, "api"))
        return answer.as_dict()

    @router.post("/feedback", status_code=201)
    def add_feedback(body: FeedbackRequest) -> dict:
        if body.rating not in RATINGS:
            raise ApiError(422, "invalid_rating", f"rating phải là một trong {RATINGS}")
        if not body.question.strip():
            raise ApiError(400, "bad_question", "câu hỏi trống")
        return {
            "id": assistant.add_feedback(
                body.session_id, body.question, body.answer, body.rating, body.comment
            )
        }

    return router


def lookup_routes(assistant: Assistant) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["tra cứu"])

    @router.get("/search")
    def search(
        q: Annotated[str, Query(min_length=1, max_length=2000)],
        k: Annotated[int | None, Query(ge=1, le=50, description="mặc định ASSISTANT_TOP_K")] = None,
        field: str | None = None,
        level: str | None = None,
        kind: str | None = None,
    ) -> list[dict]:
        filters = {"field": field, "level": level, "kind": kind}
        result = guarded(lambda: assistant.search(q, k=k, filters=filters))
        return [h.as_dict() for h in result.hits]

    @router.get("/procedures")
    def procedures(
        field: str | None = None,
        level: str | None = None,
        kind: str | None = None,
        source: Annotated[
            str | None,
            Query(description="guide (có hướng dẫn) | record (chỉ hồ sơ gốc) | stale (cần rà soát)"),
        ] = None,
    ) -> list[dict]:
        filters = {"field": field, "level": level, "kind": kind, "source": source}
        return guarded(lambda: assistant.list_documents(filters))

    @router.get("/procedures/{doc_id}")
    def procedure(doc_id: str) -> dict:
        record = guarded(lambda: assistant.document(doc_id))
        if record is None:
            raise ApiError(404, "not_found", f"không có tài liệu '{doc_id}'")
        return record

    return router


def admin_only(settings: Settings):
    """The dependency every staff route shares: a bearer token equal to ASSISTANT_ADMIN_TOKEN."""

    def admin(authorization: Annotated[str | None, Header()] = None) -> None:
        if not admin_enabled(settings):
            raise ApiError(403, "admin_disabled", "Quản trị đang tắt: đặt ASSISTANT_ADMIN_TOKEN để bật.")
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            raise ApiError(401, "unauthorized", "Cần tiêu đề Authorization: Bearer <mã quản trị>.")
        if not token_ok(settings, given):
            raise ApiError(403, "forbidden", "Mã quản trị không đúng.")

    return Depends(admin)


def admin_routes(assistant: Assistant) -> APIRouter:
    settings = assistant.settings
    router = APIRouter(prefix="/api/v1", tags=["quản trị"], dependencies=[admin_only(settings)])

    @router.post("/documents")
    def upload(files: Annotated[list[UploadFile], File()]) -> dict:
        limit = int(settings.max_upload_mb * 2**20)
        received = []
        for file in files:  # every file is checked before any is stored
            data = file.file.read(limit + 1)
            guarded(lambda f=file, d=data: check_upload(f.filename or "", len(d), limit))
            received.append((file.filename or "", data))
        outcome, report = guarded(lambda: assistant.add_documents(received))
        if outcome.unreadable:
            reasons = "; ".join(f"{name}: {reason}" for name, reason in outcome.unreadable)
            raise ApiError(415, "unreadable_document", reasons)
        return report.as_dict()

    @router.post("/reindex")
    def reindex() -> dict:
        return guarded(assistant.reindex).as_dict()

    @router.get("/stats")
    def stats() -> dict:
        return guarded(assistant.stats)

    return router


def insight_routes(assistant: Assistant) -> APIRouter:
    """Staff insight from the question log (admin token required)."""
    router = APIRouter(prefix="/api/v1", tags=["thống kê"], dependencies=[admin_only(assistant.settings)])

    @router.get("/analytics/summary")
    def analytics_summary(
        start: Annotated[str | None, Query(alias="from", description="YYYY-MM-DD")] = None,
        end: Annotated[
            str | None, Query(alias="to", description="YYYY-MM-DD, ngày cuối (tính cả ngày đó)")
        ] = None,
        channel: Annotated[str | None, Query(description="web | api | cli")] = None,
    ) -> dict:
        return guarded(lambda: assistant.insight.summary(start, end, channel))

    @router.get("/analytics/gaps")
    def analytics_gaps(
        start: Annotated[str | None, Query(alias="from")] = None,
        end: Annotated[str | None, Query(alias="to")] = None,
    ) -> dict:
        return guarded(lambda: assistant.insight.gaps(start, end))

    @router.post("/analytics/gaps/{key}/handled")
    def analytics_gap_handled(key: str) -> dict:
        guarded(lambda: assistant.insight.mark_handled(key))
        return {"key": key, "handled": True}

    @router.get("/analytics/questions.csv", response_class=PlainTextResponse)
    def analytics_csv(
        start: Annotated[str | None, Query(alias="from")] = None,
        end: Annotated[str | None, Query(alias="to")] = None,
        channel: str | None = None,
    ) -> PlainTextResponse:
        text = guarded(lambda: assistant.insight.csv(start, end, channel))
        headers = {"Content-Disposition": 'attachment; filename="cau-hoi.csv"'}
        return PlainTextResponse(text, media_type="text/csv; charset=utf-8", headers=headers)

    return router


def _sse(parts: Iterator[str | Answer]) -> Iterator[str]:
    for part in parts:
        if isinstance(part, Answer):
            yield f"event: answer\ndata: {json.dumps(part.as_dict(), ensure_ascii=False)}\n\n"
        else:
            yield f"event: delta\ndata: {json.dumps({'text': part}, ensure_ascii=False)}\n\n"
