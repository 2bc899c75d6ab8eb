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
from typing import Any, Callable, Dict, Optional

from componentize_py_types import Err
from wit_world.imports import config as _config
from wit_world.imports import log as _log
from wit_world.imports.hops_app_types import (
    Call,
    CallError_Reject,
    CallError_Retry,
    Header,
    Output,
    RetryRequest,
)

__all__ = [
    "Call",
    "Output",
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


# Re-exported for apps that build HTTP-shaped results themselves.
_ = Header
