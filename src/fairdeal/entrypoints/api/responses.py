"""The API's JSON responses, rendered by orjson.

Every dispute the API answers with is a document of a few kilobytes (its timeline, solutions,
messages); rendering it with the standard library's json was a visible share of a request's
CPU in the profile (performance.md). orjson writes the same JSON for the values the
serializers build (strings, integers, booleans, null, lists, maps), UTF-8 as it is, compact;
Starlette's JSONResponse writes the same, only slower."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse


class JsonResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
