"""schemathesis hooks for scripts/schemathesis.mjs (loaded through SCHEMATHESIS_HOOKS)."""

import base64
import json
from datetime import datetime, timezone

import schemathesis
from hypothesis import strategies as st


def _consultation_cursor(at: datetime, consultation_id) -> str:
    """What lib/circle/consultation-store.ts encodeCursor makes: base64url of `[createdAt, id]`, unpadded."""
    created_at = at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
    raw = json.dumps([created_at, str(consultation_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# GET /api/v1/consultations `cursor`: opaque to clients, so the document gives it a format of its own; any
# (time, id) position is a valid cursor, and this is how a fuzzer makes one.
schemathesis.openapi.format(
    "consultation-cursor",
    st.builds(
        _consultation_cursor,
        st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(timezone.utc)),
        st.uuids(),
    ),
)


def _requires_credentials(case) -> bool:
    """An operation is protected unless its (or the document's) `security` is empty or allows `{}`."""
    security = case.operation.definition.raw.get("security")
    if security is None:
        security = case.operation.schema.raw_schema.get("security", [])
    return bool(security) and {} not in security


BODY_REFUSALS = {"ENTITY_PARSE_FAILED", "PAYLOAD_TOO_LARGE"}


def _error_code(response):
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


@schemathesis.check
def anonymous_refused(ctx, response, case):
    """Run without credentials: every protected operation answers 401, whatever its input (admission comes before validation)."""
    # The coverage phase also sends methods an operation does not have: those are not the operation.
    if case.method.upper() != case.operation.method.upper():
        return None
    if not _requires_credentials(case) or response.status_code == 401:
        return None
    # moleculer-web reads the body before the authorization hook runs: a body that is not JSON at all, or
    # over the limit, is refused as such (400 or 413) whoever sends it. Nothing of the route is reached.
    if response.status_code in (400, 413) and _error_code(response) in BODY_REFUSALS:
        return None
    raise AssertionError(
        f"{case.operation.label} requires credentials but answered {response.status_code} to a request without any"
    )


# POST /api/v1/keys `role`: a key's role must be one of the configured roles (viewer, operator, admin here),
# which the document cannot list (it is configuration). A positive case's well-formed role is replaced by
# one of them; a negative case keeps whatever it broke.
_ROLES = ("viewer", "operator", "admin")


@schemathesis.hook("map_case").apply_to(operation_id="createKey")
def _configured_role(ctx, case):
    body = case.body
    meta = case.meta
    positive = meta is None or not meta.generation.mode.is_negative
    role = body.get("role") if isinstance(body, dict) else None
    if positive and isinstance(role, str) and 1 <= len(role) <= 63 and "\x00" not in role:
        case.body = {**body, "role": _ROLES[len(role) % len(_ROLES)]}
    return case


# POST /v1/chat/completions `model`: `core/circle` or `core/<expert-id>` of a configured expert (the script
# configures one, `stub`). Which conversations each takes is a rule across messages that JSON Schema cannot
# state (lib/openai-compat/conversation.ts): the circle answers a conversation whose last turn is the user's,
# not blank, and that fits a consult's question (32 000 characters); one expert takes any conversation with a
# turn that is not a system message. A positive case's well-formed model becomes a model that takes its
# conversation; when none does, it keeps its made-up model (404, which a valid request may get).
_BLANK = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_QUESTION_LIMIT = 32_000


def _text(message) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def _js_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _model_for(messages) -> str | None:
    turns = [m for m in messages if isinstance(m, dict) and m.get("role") not in ("system", "developer")]
    turns = [m for m in turns if not (m.get("role") == "assistant" and _text(m) == "")]
    if not turns:
        return None
    last = turns[-1]
    # A generous bound on the transcript the circle is asked (headings, "User: " per turn).
    asked = sum(_js_length(_text(m)) + 16 for m in messages if isinstance(m, dict)) + 100
    if last.get("role") == "user" and _text(last).strip(_BLANK) != "" and asked <= _QUESTION_LIMIT:
        return "core/circle"
    return "core/stub"


@schemathesis.hook("map_case").apply_to(operation_id="createChatCompletion")
def _configured_model(ctx, case):
    body = case.body
    meta = case.meta
    positive = meta is None or not meta.generation.mode.is_negative
    if not positive or not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return case
    model = _model_for(body["messages"])
    if model is not None and isinstance(body.get("model"), str):
        case.body = {**body, "model": model}
    return case


# POST /api/v1/mcp/tools/{server}/{tool}: the body is the tool's arguments, which each tool's own input schema
# decides (tools come and go at run time; the document can only say "an object"). A positive case that names
# a real tool gets arguments that tool takes: CORE's own `experts` takes none. Other names stay as generated
# (404 for a tool that does not exist, which a valid request may get); negative cases keep what they broke.
@schemathesis.hook("map_case").apply_to(operation_id="callMcpTool")
def _tool_arguments(ctx, case):
    meta = case.meta
    positive = meta is None or not meta.generation.mode.is_negative
    if positive and case.path_parameters and case.path_parameters.get("server") == "core":
        case.path_parameters = {**case.path_parameters, "tool": "experts"}
        case.body = {}
    return case
