// Example Hops worker in JavaScript: app `jsecho`.
//
// Handlers: `echo` returns its inputs as the result's JSON; `tag` returns
// `{"text": inputs.text + " (js)"}`. Any other handler is rejected with the list.

import { inputs, json, reject, route } from "../../hops.js";

function echo(call) {
  return json(inputs(call));
}

function tag(call) {
  const text = inputs(call)?.text;
  if (typeof text !== "string") reject("inputs.text must be a string");
  return json({ text: `${text} (js)` });
}

export const worker = {
  handle(call) {
    return route(call, { echo, tag });
  },
};
