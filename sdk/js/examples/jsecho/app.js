// Example Hops worker in JavaScript: app `jsecho`.
//
// Handlers: `echo` returns its inputs as the result's JSON; `tag` returns
// `{"text": inputs.text + " (js)"}`; `fetch` GETs `inputs.url` with `fetch` (outbound HTTP,
// limited to the app's allowed-hosts) and returns `{"status", "body"}`. Any other handler is
// rejected with the list.

import { inputs, json, reject, route } from "../../hops.js";

function echo(call) {
  return json(inputs(call));
}

function tag(call) {
  const text = inputs(call)?.text;
  if (typeof text !== "string") reject("inputs.text must be a string");
  return json({ text: `${text} (js)` });
}

async function fetchUrl(call) {
  const url = inputs(call)?.url;
  if (typeof url !== "string") reject("inputs.url must be a string");
  const answer = await fetch(url);
  return json({ status: answer.status, body: await answer.text() });
}

export const worker = {
  handle(call) {
    return route(call, { echo, tag, fetch: fetchUrl });
  },
};
