"""Example Hops worker in Python: app `pyecho`.

Handlers:
* ``echo`` returns its inputs as the result's JSON;
* ``tag`` returns ``{"text": inputs.text + " (python)"}``;
* ``fetch`` GETs ``inputs.url`` (outbound HTTP, limited to the app's allowed-hosts) and returns
  ``{"status": …, "body": …}``.
Any other handler is rejected with the list of handlers.
"""

from wit_world import exports

import hops_app
from hops_app import Call, Output, Reject


def echo(call: Call) -> Output:
    return hops_app.json_output(hops_app.inputs(call))


def tag(call: Call) -> Output:
    text = (hops_app.inputs(call) or {}).get("text")
    if not isinstance(text, str):
        raise Reject("inputs.text must be a string")
    return hops_app.json_output({"text": text + " (python)"})


def fetch(call: Call) -> Output:
    url = (hops_app.inputs(call) or {}).get("url")
    if not isinstance(url, str):
        raise Reject("inputs.url must be a string")
    status, _headers, body = hops_app.http_request("GET", url)
    return hops_app.json_output({"status": status, "body": body.decode()})


class Worker(exports.Worker):
    def handle(self, call: Call) -> Output:
        return hops_app.route(call, {"echo": echo, "tag": tag, "fetch": fetch})
