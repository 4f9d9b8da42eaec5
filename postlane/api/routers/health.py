"""Liveness and readiness: /healthz checks the database too, for load balancers."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from postlane.api import deps
from postlane.store.database import Database

router = APIRouter()


def _ping(db: Database) -> None:
    with db.read() as conn:
        conn.execute(sa.text("SELECT 1"))


@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    db = deps.db(request)
    try:
        await db.run(_ping, db)
    except Exception as exc:
        return JSONResponse({"Status": "Unavailable", "Database": str(exc)[:200]},
                            status_code=503)
    return JSONResponse({"Status": "OK", "Database": db.engine.dialect.name})
