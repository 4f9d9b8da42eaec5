"""The anchor for the REST benchmark: a bare FastAPI endpoint in the same venv, served by
uvicorn with the same loop and HTTP parser as Postlane's API (runtime), that parses
the same JSON body and answers as POST /email does, storing nothing.

    python -m benchmarks.bare_app PORT
"""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import uvicorn
from fastapi import FastAPI, Request

from postlane import runtime

app = FastAPI()


@app.post("/email")
async def email(request: Request) -> dict[str, Any]:
    data = orjson.loads(await request.body())
    return {"To": data.get("To", ""), "SubmittedAt": datetime.now(UTC).isoformat(),
            "MessageID": str(uuid.uuid4()), "ErrorCode": 0, "Message": "OK"}


def main() -> None:
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                access_log=False, loop=runtime.UVICORN_LOOP, http=runtime.UVICORN_HTTP)


if __name__ == "__main__":
    main()
