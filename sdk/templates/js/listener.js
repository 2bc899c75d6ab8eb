// App `{{name}}`: a Hops listener. `POST /listen/{{name}}/hello` with a JSON body starts a run
// of the pipelines that say `on greeting`.

import { emit, header, requestJson, response } from "./hops.js";

export const listener = {
  handleWebhook(request) {
    if (request.method === "POST" && request.path === "/hello") {
      const runId = emit("greeting", requestJson(request), {
        source: "{{name}}",
        // A redelivery of the same webhook lands in the same run.
        dedupKey: header(request, "x-delivery-id"),
      });
      return response(202, runId);
    }
    return response(404, "send POST /hello with a JSON body");
  },

  // Runs every `poll-interval` of `{{name}}.toml` (never without one).
  tick() {},
};
