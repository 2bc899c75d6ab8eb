"""App `{{name}}`: a Hops worker. A pipeline calls it as `{{name}}_hello`:

    call {{name}}_hello {
      inputs = { name = "Ada" }
    }
"""

from wit_world import exports

import hops_app
from hops_app import Call, Output


def hello(call: Call) -> Output:
    """`{{name}}_hello`: answers {"greeting": "Hello, <inputs.name>!"}."""
    name = (hops_app.inputs(call) or {}).get("name", "world")
    return hops_app.json_output({"greeting": f"Hello, {name}!"})


class Worker(exports.Worker):
    def handle(self, call: Call) -> Output:
        # One entry per handler: `{{name}}_<handler>` in pipelines.
        return hops_app.route(call, {"hello": hello})
