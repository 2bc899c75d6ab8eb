// Helpers for writing Hops apps in JavaScript with componentize-js.
//
// Import it from your app (`import { route, json } from "../../hops.js"`, or copy it next to
// your app): componentize-js bundles relative imports into the component. It maps the
// `hops:app@0.1.0` records to plain JavaScript: call inputs as values, results as JSON, and
// the two ways a call can fail:
//
// - `reject(message)` (or throwing any other error) ends the call with an errored result
//   that is never retried (bad inputs, unknown handler, a 4xx from upstream);
// - `retry(message, backoffMs)` asks the host to deliver the call again after a backoff,
//   while the call's retry budget lasts (an upstream timeout, a 503, a rate limit).

import { log as hostLog } from "hops:app/log@0.1.0";
import { get, getAll } from "hops:app/config@0.1.0";
import { emit as hostEmit } from "hops:app/events@0.1.0";

/** An error that fails the call for good. */
export class Reject extends Error {}

/** An error that asks the host to deliver the call again after `backoffMs` (or the
 * pipeline's backoff when it is undefined). */
export class Retry extends Error {
  constructor(message, backoffMs) {
    super(message);
    this.backoffMs = backoffMs;
  }
}

/** Throws a `Reject`. */
export function reject(message) {
  throw new Reject(message);
}

/** Throws a `Retry`. */
export function retry(message, backoffMs) {
  throw new Retry(message, backoffMs);
}

/** The call's inputs as a value: an object, or null when the call had none. */
export function inputs(call) {
  try {
    return call.inputs ? JSON.parse(call.inputs) : null;
  } catch (e) {
    throw new Reject(`invalid inputs for ${call.app}_${call.handler}: ${e.message}`);
  }
}

/** A structured result, reachable in pipelines as `<call>.json`. */
export function json(value) {
  return { json: JSON.stringify(value ?? null), body: "", headers: [] };
}

/** A text result, reachable in pipelines as `<call>.body`. */
export function text(body) {
  return { body: String(body), headers: [] };
}

// The WIT `call-error` variant, as componentize-js expects a thrown result error.
function callError(error) {
  if (error instanceof Retry) {
    const backoffMs = error.backoffMs === undefined ? undefined : BigInt(error.backoffMs);
    return { tag: "retry", val: { message: error.message, backoffMs } };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { tag: "reject", val: message || "failed" };
}

/**
 * Runs the handler named by `call.handler` from `handlers` (an object of functions) and
 * maps its outcome to the WIT result. Unknown handlers are rejected with the list of
 * handlers; `Retry` becomes a `retry` error, anything else thrown a `reject`.
 */
export function route(call, handlers) {
  const handler = Object.hasOwn(handlers, call.handler) ? handlers[call.handler] : undefined;
  try {
    if (typeof handler !== "function") {
      const names = Object.keys(handlers).join(", ");
      throw new Reject(`unknown handler "${call.handler}" of app ${call.app}; handlers: ${names}`);
    }
    const result = handler(call);
    // An `async` handler (one that awaits `fetch`): componentize-js waits for the promise.
    if (result && typeof result.then === "function") {
      return result.then(undefined, (error) => {
        throw { payload: callError(error) };
      });
    }
    return result;
  } catch (error) {
    throw { payload: callError(error) };
  }
}

// ---- listeners ----

/** The first value of header `name` (any case) of a webhook request, or undefined. */
export function header(request, name) {
  const wanted = name.toLowerCase();
  return request.headers.find((h) => h.name === wanted)?.value;
}

/** A webhook request's body parsed as JSON. */
export function requestJson(request) {
  const text = new TextDecoder().decode(request.body);
  return text ? JSON.parse(text) : null;
}

/** A webhook answer with a text body. */
export function response(status, text = "", contentType = "text/plain; charset=utf-8") {
  return {
    status,
    headers: [{ name: "content-type", value: contentType }],
    body: new TextEncoder().encode(String(text)),
  };
}

/**
 * Starts a run with a source event (`on "<event>"` pipelines); returns its run id. A
 * `dedupKey` (an upstream delivery id) makes a redelivery land in the same run.
 */
export function emit(event, payload, { source = "", action = "", dedupKey } = {}) {
  const emitted = hostEmit({
    source,
    event,
    action,
    payload: JSON.stringify(payload ?? {}),
    dedupKey,
  });
  return emitted.runId;
}

/** The value of config key `key` (from `[config]` / `[secrets]` of the app's toml). */
export function config(key) {
  return get(key);
}

/** Every config key and value, as an object. */
export function configAll() {
  return Object.fromEntries(getAll());
}

/** Logging into the host's log, tagged with the app's name. */
export const log = {
  debug: (message) => hostLog("debug", message),
  info: (message) => hostLog("info", message),
  warn: (message) => hostLog("warn", message),
  error: (message) => hostLog("error", message),
};
