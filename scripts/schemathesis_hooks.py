"""Schemathesis hooks for Bulwark: a check that every non-2xx answer is the standard error JSON.

Loaded by scripts/schemathesis.sh through SCHEMATHESIS_HOOKS. The check runs on every response of
the run, beside schemathesis' own checks.
"""

import schemathesis

REQUIRED = {
    "error": bool,
    "status_code": int,
    "message": str,
    "details": dict,
    "error_code": str,
    "correlation_id": str,
    "timestamp": str,
}

CODES = {
    "AUTH_ERROR": {401, 403},
    "VALIDATION_ERROR": {400, 413, 415, 431},
    "RESOURCE_ERROR": {404, 405, 409, 410},
    "RATE_LIMIT_ERROR": {429},
    "DEPENDENCY_ERROR": {502, 503, 504},
    "PROCESSING_ERROR": {422},
    "SYSTEM_ERROR": {500},
}


@schemathesis.check
def standard_error_format(ctx, response, case):
    """Every non-2xx body is the standard error with the response's correlation ID."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])
    if isinstance(content_type, list):
        content_type = content_type[0] if content_type else ""
    if not content_type.startswith("application/json"):
        raise AssertionError(f"error answer is not JSON: content-type {content_type!r}")
    body = response.json()
    if not isinstance(body, dict):
        raise AssertionError(f"error body is not an object: {body!r}")
    for field, kind in REQUIRED.items():
        if not isinstance(body.get(field), kind):
            raise AssertionError(f"error body lacks {field} ({kind.__name__}): {body!r}")
    if body["error"] is not True:
        raise AssertionError("`error` is not true")
    if body["status_code"] != response.status_code:
        raise AssertionError(
            f"status_code {body['status_code']} differs from the status {response.status_code}"
        )
    allowed = CODES.get(body["error_code"])
    if allowed is None or response.status_code not in allowed:
        raise AssertionError(f"{body['error_code']} does not go with {response.status_code}")
    header = response.headers.get("x-correlation-id")
    if isinstance(header, list):
        header = header[0] if header else None
    if header != body["correlation_id"]:
        raise AssertionError(
            f"correlation_id {body['correlation_id']!r} differs from the header {header!r}"
        )
    # Load shedding (503) and rate limits (429) tell the client when to come back.
    if response.status_code in (429, 503) and not response.headers.get("retry-after"):
        raise AssertionError(f"{response.status_code} without Retry-After: {body!r}")
    return None
