"""The HTTP API every channel integrates with, served by the same process as the Gradio app.

Errors are always JSON ``{"error", "detail"}`` with a fitting status code (``api_errors.ERRORS``); no
stack trace reaches a client. Admin routes need ``Authorization: Bearer <ASSISTANT_ADMIN_TOKEN>``;
with no token configured they are disabled, never open. Request bodies are capped on the bytes read.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.channels.api_errors import ApiError, log
from assistant.channels.body_limit import BodyLimit, BodyTooLarge
from assistant.channels.routes import (
    admin_routes,
    citizen_routes,
    insight_routes,
    lookup_routes,
    system_routes,
)
from assistant.config import Settings
from assistant.privacy import redact
from assistant.service import Assistant

UPLOAD_PATHS = ("/api/v1/documents", "/gradio_api/upload")
MULTIPART_OVERHEAD = 65536


def create_api(assistant: Assistant) -> FastAPI:
    api = FastAPI(
        title="Trợ lý ảo hành chính TP.HCM",
        version="1.0",
        description="Một API dùng chung cho mọi kênh: cổng dịch vụ công, Zalo OA, tổng đài 1022, nội bộ.",
    )
    _add_error_handlers(api)
    api.add_middleware(BodyLimit, limit_for=lambda path: body_limit(assistant.settings, path))
    for routes in (system_routes, citizen_routes, lookup_routes, admin_routes, insight_routes):
        api.include_router(routes(assistant))
    return api


def body_limit(settings: Settings, path: str) -> int:
    """Uploads may be as large as ASSISTANT_MAX_UPLOAD_MB; every other body ASSISTANT_MAX_REQUEST_KB."""
    if path.endswith(UPLOAD_PATHS):
        return int(settings.max_upload_mb * 2**20) + MULTIPART_OVERHEAD
    return settings.max_request_kb * 1024


def _add_error_handlers(api: FastAPI) -> None:
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
        detail = "văn bản chứa ký tự không hợp lệ (không mã hoá được UTF-8)"
        return JSONResponse({"error": "invalid_text", "detail": detail}, status_code=400)

    @api.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error: %s", redact(repr(exc)))
        body = {"error": "internal_error", "detail": "Lỗi máy chủ; vui lòng thử lại."}
        return JSONResponse(body, status_code=500)
