"""Helpers for writing Hops apps in Python with componentize-py.

Copy this file next to your app (or pass its directory with ``-p``) and build with::

    componentize-py -d <repo>/wit -w worker-app componentize app -p . -p <repo>/sdk/python -o myapp.wasm

It wraps the bindings componentize-py generates for world ``hops:app/worker-app``
(module ``wit_world``): call inputs as Python values, results as JSON, and the two ways a
call can fail:

* :class:`Reject` (or any other exception) ends the call with an errored result that is
  never retried (bad inputs, unknown handler, a 4xx from upstream);
* :class:`Retry` asks the host to deliver the call again after a backoff, while the call's
  retry budget lasts (an upstream timeout, a 503, a rate limit).
"""

import json
from typing import Any, Callable, Dict, List, Optional, Tuple

from componentize_py_types import Err, Ok
from wit_world.imports import config as _config
from wit_world.imports import events as _events
from wit_world.imports import log as _log
from wit_world.imports import outgoing_handler as _outgoing
from wit_world.imports import streams as _streams
from wit_world.imports import wasi_http_types as _http
from wit_world.imports.hops_app_types import (
    Call,
    CallError_Reject,
    CallError_Retry,
    Header,
    Output,
    RetryRequest,
    WebhookRequest,
    WebhookResponse,
)

__all__ = [
    "Call",
    "Output",
    "WebhookRequest",
    "WebhookResponse",
    "emit",
    "header",
    "request_json",
    "response",
    "http_request",
    "HttpError",
    "Reject",
    "Retry",
    "route",
    "inputs",
    "json_output",
    "text_output",
    "config",
    "config_all",
    "log",
]


class Reject(Exception):
    """Fails the call for good: an errored result, never delivered again."""


class Retry(Exception):
    """Fails the call for now: the host delivers it again after ``backoff_ms``
    (the pipeline's backoff when ``None``) while its retry budget lasts."""

    def __init__(self, message: str, backoff_ms: Optional[int] = None):
        super().__init__(message)
        self.backoff_ms = backoff_ms


Handler = Callable[[Call], Output]


def inputs(call: Call) -> Any:
    """The call's inputs as Python values: a dict, or ``None`` when the call had none."""
    try:
        return json.loads(call.inputs) if call.inputs else None
    except ValueError as e:
        raise Reject(f"invalid inputs for {call.app}_{call.handler}: {e}") from e


def json_output(value: Any) -> Output:
    """A structured result, reachable in pipelines as ``<call>.json``."""
    return Output(json=json.dumps(value), body="", status_code=None, headers=[], url=None)


def text_output(body: str) -> Output:
    """A text result, reachable in pipelines as ``<call>.body``."""
    return Output(json=None, body=body, status_code=None, headers=[], url=None)


def route(call: Call, handlers: Dict[str, Handler]) -> Output:
    """Runs the handler named by ``call.handler`` and maps its outcome to the WIT result.

    Unknown handlers are rejected with the list of handlers; :class:`Retry` becomes a
    ``retry`` error, any other exception a ``reject`` carrying its message.
    """
    handler = handlers.get(call.handler)
    if handler is None:
        names = ", ".join(handlers)
        raise Err(
            CallError_Reject(
                f'unknown handler "{call.handler}" of app {call.app}; handlers: {names}'
            )
        )
    try:
        return handler(call)
    except Err:
        raise
    except Retry as e:
        raise Err(CallError_Retry(RetryRequest(message=str(e), backoff_ms=e.backoff_ms)))
    except Exception as e:  # every other failure is an errored result, never a trap
        raise Err(CallError_Reject(str(e) or type(e).__name__))


def config(key: str) -> Optional[str]:
    """The value of ``key`` from the app's ``[config]`` / ``[secrets]``, or ``None``."""
    return _config.get(key)


def config_all() -> Dict[str, str]:
    """Every config key and value the app was given."""
    return dict(_config.get_all())


class log:
    """Logging into the host's log, tagged with the app's name."""

    @staticmethod
    def debug(message: str) -> None:
        _log.log(_log.Level.DEBUG, message)

    @staticmethod
    def info(message: str) -> None:
        _log.log(_log.Level.INFO, message)

    @staticmethod
    def warn(message: str) -> None:
        _log.log(_log.Level.WARN, message)

    @staticmethod
    def error(message: str) -> None:
        _log.log(_log.Level.ERROR, message)


# ---- listeners ----


def header(request: WebhookRequest, name: str) -> Optional[str]:
    """The first value of header ``name`` (any case) of a webhook request, or ``None``."""
    wanted = name.lower()
    for h in request.headers:
        if h.name == wanted:
            return h.value
    return None


def request_json(request: WebhookRequest) -> Any:
    """A webhook request's body parsed as JSON (an error answers 500 with the message)."""
    try:
        return json.loads(bytes(request.body) or b"null")
    except ValueError as e:
        raise Err(f"the request body is not JSON: {e}")


def response(status: int, text: str = "", content_type: str = "text/plain; charset=utf-8") -> WebhookResponse:
    """A webhook answer with a text body."""
    return WebhookResponse(
        status=status,
        headers=[Header(name="content-type", value=content_type)],
        body=text.encode(),
    )


def emit(
    event: str,
    payload: Any,
    *,
    source: str = "",
    action: str = "",
    dedup_key: Optional[str] = None,
) -> str:
    """Starts a run with a source event (``on "<event>"`` pipelines); returns its run id.
    ``dedup_key`` (an upstream delivery id) makes a redelivery land in the same run."""
    result = _events.emit(
        _events.SourceEvent(
            source=source,
            event=event,
            action=action,
            payload=json.dumps(payload if payload is not None else {}),
            dedup_key=dedup_key,
        )
    )
    return result.run_id


# ---- outbound HTTP (wasi:http, limited to the app's allowed-hosts) ----


class HttpError(Exception):
    """An outbound request failed: refused by the host (no grant), or the transport failed."""


def http_request(
    method: str,
    url: str,
    headers: Optional[Dict[str, str]] = None,
    body: bytes = b"",
) -> Tuple[int, List[Tuple[str, str]], bytes]:
    """Sends one HTTP request and returns ``(status, headers, body)``.

    Only the hosts of the app's ``allowed-hosts`` can be reached; any other raises
    :class:`HttpError` saying the host refused it."""
    http = _http
    scheme, sep, rest = url.partition("://")
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    if not sep or scheme not in ("http", "https") or not authority:
        raise HttpError(f"{url!r} is not an http:// or https:// URL")
    path_with_query = tail if tail.startswith("/") else "/" + tail
    methods = {
        "GET": http.Method_Get(),
        "HEAD": http.Method_Head(),
        "POST": http.Method_Post(),
        "PUT": http.Method_Put(),
        "DELETE": http.Method_Delete(),
        "OPTIONS": http.Method_Options(),
        "PATCH": http.Method_Patch(),
    }
    fields = http.Fields.from_list(
        [(k.lower(), v.encode()) for k, v in (headers or {}).items()]
    )
    request = http.OutgoingRequest(fields)
    request.set_method(methods.get(method.upper(), http.Method_Other(method.upper())))
    request.set_scheme(http.Scheme_Https() if scheme == "https" else http.Scheme_Http())
    request.set_authority(authority)
    request.set_path_with_query(path_with_query)
    outgoing = request.body()
    try:
        future = _outgoing.handle(request, None)
    except Err as e:
        raise HttpError(_describe(e.value, url)) from None
    if body:
        with outgoing.write() as stream:
            stream.blocking_write_and_flush(body)
    http.OutgoingBody.finish(outgoing, None)
    while True:
        got = future.get()
        if got is not None:
            break
        future.subscribe().block()
    # `got` is Ok(Ok(response)), Ok(Err(error-code)), or Err(()) for a future read twice.
    if not isinstance(got, Ok):
        raise HttpError(f"request to {url} failed: its response was already taken")
    if not isinstance(got.value, Ok):
        raise HttpError(_describe(got.value.value, url))
    answer = got.value.value
    status = answer.status()
    answer_headers = [(k, v.decode(errors="replace")) for k, v in answer.headers().entries()]
    incoming = answer.consume()
    data = bytearray()
    with incoming.stream() as stream:
        while True:
            try:
                data.extend(stream.blocking_read(64 * 1024))
            except Err as e:
                if isinstance(e.value, _streams.StreamError_Closed):
                    break
                raise HttpError(f"reading the response of {url} failed: {e.value}") from None
    http.IncomingBody.finish(incoming)
    return status, answer_headers, bytes(data)


def _describe(code: Any, url: str) -> str:
    name = type(code).__name__
    if name == "ErrorCode_HttpRequestDenied":
        return f"request to {url} denied: the host allows only the app's allowed-hosts"
    return f"request to {url} failed: {name}"


# Re-exported for apps that build HTTP-shaped results themselves.
_ = Header
