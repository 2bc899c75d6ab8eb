"""App `{{name}}`: a Hops listener. `POST /listen/{{name}}/hello` with a JSON body starts a run
of the pipelines that say `on greeting`."""

from wit_world import exports

import hops_app
from hops_app import WebhookRequest, WebhookResponse


class Listener(exports.Listener):
    def handle_webhook(self, request: WebhookRequest) -> WebhookResponse:
        if request.method == "POST" and request.path == "/hello":
            run_id = hops_app.emit(
                "greeting",
                hops_app.request_json(request),
                source="{{name}}",
                # A redelivery of the same webhook lands in the same run.
                dedup_key=hops_app.header(request, "x-delivery-id"),
            )
            return hops_app.response(202, run_id)
        return hops_app.response(404, "send POST /hello with a JSON body")

    def tick(self) -> None:
        """Runs every `poll-interval` of `{{name}}.toml` (never without one)."""
