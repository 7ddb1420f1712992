"""Every failure of the service as a JSON error object with a status code, never a traceback.

The body follows OpenAI's shape, so OpenAI clients report it as they would their own errors:
``{"error": {"message": ..., "type": ..., "code": ...}}``. Engine errors map to statuses by kind
(bad input 400, unknown index 404, a missing extra 501, a failed reader 502); anything unexpected
is a 500 whose message names no internals (the traceback goes to the server's log only).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ragengine import errors

log = logging.getLogger(__name__)

STATUS: tuple[tuple[type[Exception], int, str], ...] = (
    (errors.IndexNotFound, 404, "not_found_error"),
    (errors.InvalidInput, 400, "invalid_request_error"),
    (errors.IndexMismatch, 409, "index_mismatch"),
    (errors.MissingDependency, 501, "missing_dependency"),
    (errors.GenerationError, 502, "generation_error"),
    (errors.RagEngineError, 500, "engine_error"),
)


class ServiceError(Exception):
    """An error the service raises itself: a status, a type and a message for the client."""

    def __init__(self, status: int, kind: str, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.code = status, kind, message, code


def body(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": code}}


def from_exception(e: BaseException) -> tuple[int, dict[str, Any]]:
    """The status and JSON body for any exception raised while serving a request."""
    if isinstance(e, ServiceError):
        return e.status, body(e.message, e.kind, e.code)
    for cls, status, kind in STATUS:
        if isinstance(e, cls):
            return status, body(str(e), kind)
    log.exception("unexpected error while serving a request", exc_info=e)
    return 500, body("internal server error; the server log has the details", "server_error")


def install(app: FastAPI) -> None:
    """Register the handlers that make every error a JSON object."""

    async def on_service(_: Request, e: Exception) -> JSONResponse:
        status, content = from_exception(e)
        return JSONResponse(content, status_code=status)

    async def on_http(request: Request, e: Exception) -> JSONResponse:
        if not isinstance(e, StarletteHTTPException):
            return await on_service(request, e)
        kinds = {401: "authentication_error", 404: "not_found_error", 405: "invalid_request_error"}
        return JSONResponse(
            body(str(e.detail), kinds.get(e.status_code, "http_error")),
            status_code=e.status_code,
            headers=getattr(e, "headers", None),
        )

    async def on_validation(request: Request, e: Exception) -> JSONResponse:
        if not isinstance(e, RequestValidationError):
            return await on_service(request, e)
        parts = [f"{'.'.join(str(x) for x in err.get('loc', ()))}: {err.get('msg')}" for err in e.errors()]
        return JSONResponse(body("; ".join(parts) or "invalid request", "invalid_request_error"), status_code=422)

    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(ServiceError, on_service)
    app.add_exception_handler(errors.RagEngineError, on_service)
    app.add_exception_handler(Exception, on_service)  # unexpected: a 500 object (the log has the traceback)
