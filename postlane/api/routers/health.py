"""Liveness and readiness: /healthz checks the database too, for load balancers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from postlane.api import deps

router = APIRouter()


@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    db = deps.db(request)
    try:
        await db.run(db.ping)
    except Exception as exc:
        return JSONResponse({"Status": "Unavailable", "Database": str(exc)[:200]},
                            status_code=503)
    return JSONResponse({"Status": "OK", "Database": db.backend})
