"""The HTTP API every channel integrates with, served by the same process as the Gradio app.

Errors are always JSON ``{"error", "detail"}`` with a fitting status code; no stack trace reaches a
client. Admin endpoints need ``Authorization: Bearer <ASSISTANT_ADMIN_TOKEN>``; with no token
configured they are disabled, never open.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, FastAPI, File, Header, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.access import admin_enabled, token_ok
from assistant.answer import Answer
from assistant.body_limit import BodyLimit, BodyTooLarge
from assistant.feedback import RATINGS
from assistant.index import IndexError_
from assistant.privacy import redact
from assistant.retrieval import UnknownFilter
from assistant.service import Assistant, QuestionError, QuestionTooLong
from assistant.uploads import UnsupportedUpload, UploadTooLarge, check_upload

log = logging.getLogger("assistant.api")
UPLOAD_PATHS = ("/api/v1/documents", "/gradio_api/upload")
MULTIPART_OVERHEAD = 65536
# Typed failures of the service and the HTTP answer each gets; the first class that matches wins.
ERRORS: dict[type[Exception], tuple[int, str]] = {
    QuestionTooLong: (413, "bad_question"),
    QuestionError: (400, "bad_question"),
    UnknownFilter: (400, "unknown_filter"),
    UploadTooLarge: (413, "bad_upload"),
    UnsupportedUpload: (415, "bad_upload"),
    IndexError_: (503, "index_unavailable"),
    UnicodeError: (400, "invalid_text"),
}


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail


class Filters(BaseModel):
    field: str | None = None
    level: str | None = None
    kind: str | None = None


class AskRequest(BaseModel):
    question: str
    session_id: str | None = Field(None, max_length=100)
    filters: Filters | None = None


class FeedbackRequest(BaseModel):
    session_id: str = Field("", max_length=100)
    question: str = Field(..., max_length=4000)
    answer: str = Field("", max_length=20000)
    rating: str
    comment: str = Field("", max_length=2000)


def create_api(assistant: Assistant) -> FastAPI:
    settings = assistant.settings
    api = FastAPI(
        title="Trợ lý ảo hành chính TP.HCM",
        version="1.0",
        description="Một API dùng chung cho mọi kênh: cổng dịch vụ công, Zalo OA, tổng đài 1022, nội bộ.",
    )

    @api.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": exc.error, "detail": exc.detail}, status_code=exc.status)

    @api.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        status = 400 if any(e["type"] == "json_invalid" for e in exc.errors()) else 422
        return JSONResponse({"error": "invalid_request", "detail": "; ".join(problems)}, status_code=status)

    @api.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        error = "too_large" if isinstance(exc, BodyTooLarge) else "http_error"
        return JSONResponse({"error": error, "detail": str(exc.detail)}, status_code=exc.status_code)

    @api.exception_handler(UnicodeError)
    async def bad_text(_: Request, exc: UnicodeError) -> JSONResponse:
        body = {
            "error": "invalid_text",
            "detail": "văn bản chứa ký tự không hợp lệ (không mã hoá được UTF-8)",
        }
        return JSONResponse(body, status_code=400)

    @api.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error: %s", redact(repr(exc)))
        body = {"error": "internal_error", "detail": "Lỗi máy chủ; vui lòng thử lại."}
        return JSONResponse(body, status_code=500)

    def body_limit(path: str) -> int:
        if path.endswith(UPLOAD_PATHS):
            return int(settings.max_upload_mb * 2**20) + MULTIPART_OVERHEAD
        return settings.max_request_kb * 1024

    api.add_middleware(BodyLimit, limit_for=body_limit)

    def guarded(call):
        """Run a service call, mapping its typed failures to API errors (ERRORS, most specific first)."""
        try:
            return call()
        except Exception as exc:
            for kind, (status, error) in ERRORS.items():
                if isinstance(exc, kind):
                    raise ApiError(status, error, str(exc)) from exc
            if type(exc).__module__.startswith(("chromadb", "httpx", "httpcore")):
                log.error("vector store error: %s", redact(repr(exc)))
                detail = "Kho vector tạm thời không truy cập được."
                raise ApiError(503, "vector_store_unavailable", detail) from exc
            raise

    def admin(authorization: Annotated[str | None, Header()] = None) -> None:
        if not admin_enabled(settings):
            raise ApiError(403, "admin_disabled", "Quản trị đang tắt: đặt ASSISTANT_ADMIN_TOKEN để bật.")
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            raise ApiError(401, "unauthorized", "Cần tiêu đề Authorization: Bearer <mã quản trị>.")
        if not token_ok(settings, given):
            raise ApiError(403, "forbidden", "Mã quản trị không đúng.")

    @api.get("/healthz", tags=["hệ thống"])
    def healthz() -> dict:
        return {"status": "ok"}

    @api.get("/readyz", tags=["hệ thống"])
    def readyz() -> dict:
        version = guarded(assistant.index.current)
        guarded(version.collection.count)
        return {"status": "ready", "version": version.name, "chunks": len(version.ids)}

    @api.post("/api/v1/ask", tags=["hỏi đáp"])
    def ask(body: AskRequest, accept: Annotated[str, Header()] = "application/json"):
        filters = body.filters.model_dump() if body.filters else None
        question = guarded(lambda: assistant.clean_question(body.question))
        if "text/event-stream" in accept:
            parts = guarded(lambda: iter(assistant.ask_stream(question, body.session_id, filters)))
            return StreamingResponse(_sse(parts), media_type="text/event-stream")
        answer: Answer = guarded(lambda: assistant.ask(question, body.session_id, filters))
        return answer.as_dict()

    @api.get("/api/v1/search", tags=["tra cứu"])
    def search(
        q: Annotated[str, Query(min_length=1, max_length=2000)],
        k: Annotated[int, Query(ge=1, le=50)] = 10,
        field: str | None = None,
        level: str | None = None,
        kind: str | None = None,
    ) -> list[dict]:
        filters = {"field": field, "level": level, "kind": kind}
        result = guarded(lambda: assistant.search(q, k=k, filters=filters))
        return [h.as_dict() for h in result.hits]

    @api.get("/api/v1/procedures", tags=["tra cứu"])
    def procedures(field: str | None = None, level: str | None = None, kind: str | None = None) -> list[dict]:
        return guarded(lambda: assistant.list_documents({"field": field, "level": level, "kind": kind}))

    @api.get("/api/v1/procedures/{doc_id}", tags=["tra cứu"])
    def procedure(doc_id: str) -> dict:
        record = guarded(lambda: assistant.document(doc_id))
        if record is None:
            raise ApiError(404, "not_found", f"không có tài liệu '{doc_id}'")
        return record

    @api.post("/api/v1/feedback", tags=["hỏi đáp"], status_code=201)
    def add_feedback(body: FeedbackRequest) -> dict:
        if body.rating not in RATINGS:
            raise ApiError(422, "invalid_rating", f"rating phải là một trong {RATINGS}")
        if not body.question.strip():
            raise ApiError(400, "bad_question", "câu hỏi trống")
        return {
            "id": assistant.feedback.add(
                body.session_id, body.question, body.answer, body.rating, body.comment
            )
        }

    @api.post("/api/v1/documents", tags=["quản trị"], dependencies=[Depends(admin)])
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

    @api.post("/api/v1/reindex", tags=["quản trị"], dependencies=[Depends(admin)])
    def reindex() -> dict:
        return guarded(lambda: assistant.reindex_uploads(with_corpus=True)).as_dict()

    @api.get("/api/v1/stats", tags=["quản trị"], dependencies=[Depends(admin)])
    def stats() -> dict:
        return guarded(assistant.stats)

    return api


def _sse(parts: Iterator[str | Answer]) -> Iterator[str]:
    for part in parts:
        if isinstance(part, Answer):
            yield f"event: answer\ndata: {json.dumps(part.as_dict(), ensure_ascii=False)}\n\n"
        else:
            yield f"event: delta\ndata: {json.dumps({'text': part}, ensure_ascii=False)}\n\n"
