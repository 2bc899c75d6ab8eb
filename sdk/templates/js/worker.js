// App `{{name}}`: a Hops worker. A pipeline calls it as `{{name}}_hello`:
//
//   call {{name}}_hello {
//     inputs = { name = "Ada" }
//   }

import { inputs, json, route } from "./hops.js";

// `{{name}}_hello`: answers {"greeting": "Hello, <inputs.name>!"}.
function hello(call) {
  const name = inputs(call)?.name ?? "world";
  return json({ greeting: `Hello, ${name}!` });
}

export const worker = {
  handle(call) {
    // One entry per handler: `{{name}}_<handler>` in pipelines.
    return route(call, { hello });
  },
};
