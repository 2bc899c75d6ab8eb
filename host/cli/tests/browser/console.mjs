// Drives the web console of a running host in headless Chromium (Debian's `chromium`, through
// playwright-core). host/cli/tests/all/console.rs starts the host on testdata/console and runs
// this with:
//   HOPS_CONSOLE_URL        the host's address
//   HOPS_CONSOLE_PIPELINES  its pipelines directory (one file is rewritten mid-test)
//   HOPS_CONSOLE_ARTIFACTS  where screenshots go
//   HOPS_CHROMIUM           the browser (default /usr/bin/chromium)
// Every step that fails throws; the process exits non-zero with the step's name.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";

const base = process.env.HOPS_CONSOLE_URL;
const pipelines = process.env.HOPS_CONSOLE_PIPELINES;
const artifacts = process.env.HOPS_CONSOLE_ARTIFACTS;
assert.ok(base && pipelines && artifacts, "set HOPS_CONSOLE_URL, HOPS_CONSOLE_PIPELINES and HOPS_CONSOLE_ARTIFACTS");
mkdirSync(artifacts, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.HOPS_CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run"],
});
const problems = [];
let step = "start";

async function newPage(viewport, origin = base) {
  const context = await browser.newContext({ viewport, baseURL: origin });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on("pageerror", (err) => problems.push(`page error on ${page.url()}: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error" && !/status of 4\d\d/.test(msg.text())) problems.push(`console error on ${page.url()}: ${msg.text()}`);
  });
  // Nothing may come from anywhere but the host.
  page.on("request", (req) => {
    if (!req.url().startsWith(origin) && !req.url().startsWith("data:")) problems.push(`request elsewhere: ${req.url()}`);
  });
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

/** Every visible input, select and textarea has a label. */
async function everyInputLabelled(page) {
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll("input, select, textarea")]
    .filter((el) => el.type !== "hidden" && !(el.labels && el.labels.length) && !el.getAttribute("aria-label"))
    .map((el) => el.outerHTML));
  assert.deepEqual(unlabelled, [], `inputs without a label on ${page.url()}`);
}

async function apiPost(path, body) {
  const response = await fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

async function waitFor(what, check, ms = 20_000) {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

try {
  const page = await newPage({ width: 1280, height: 900 });

  step = "tasks list";
  await page.goto("/");
  await page.getByRole("heading", { name: "Tasks", level: 1 }).waitFor();
  await page.getByRole("link", { name: "🚀 Deploy a service" }).waitFor();
  await shot(page, "desktop-tasks");

  step = "task form pre-filled from the URL";
  await page.goto("/tasks/deploy?service=billing&replicas=3&canary=true&notes=first%20line");
  await page.getByRole("heading", { name: "🚀 Deploy a service" }).waitFor();
  assert.equal(await page.getByLabel("Service").inputValue(), "billing");
  assert.equal(await page.getByLabel("Replicas").inputValue(), "3");
  assert.equal(await page.getByLabel("Notes").inputValue(), "first line");
  assert.equal(await page.getByLabel("Canary first").isChecked(), true);
  assert.match(await page.locator("#param-service-help").innerText(), /The service's name/);
  await everyInputLabelled(page);

  step = "browser-side field errors";
  await page.getByLabel("Service").fill("");
  await page.getByLabel("Replicas").fill("lots");
  await page.getByRole("button", { name: "Run task" }).click();
  assert.equal(await page.locator("#param-service-error").innerText(), "Required");
  assert.equal(await page.locator("#param-replicas-error").innerText(), "Should be a number");
  assert.equal(await page.getByLabel("Service").getAttribute("aria-invalid"), "true");
  assert.ok(await page.getByLabel("Service").evaluate((el) => el === document.activeElement), "focus goes to the first bad field");
  await shot(page, "desktop-task-form-errors");

  step = "submit a task form by keyboard; the run waits for an input";
  await page.getByLabel("Service").fill("billing");
  await page.getByLabel("Replicas").fill("3");
  await page.getByLabel("Replicas").press("Enter");
  await page.waitForURL(/\/runs\/[^/]+$/);
  const deployRun = page.url().split("/").pop();
  await page.locator(".call-waiting", { hasText: "approval" }).waitFor();
  await page.locator(".prompt", { hasText: "Deploy billing with 3 replicas?" }).waitFor();
  assert.match(await page.locator(".live").innerText(), /^Live/);
  await shot(page, "desktop-run-waiting-for-input");

  step = "answer the input in the timeline; the run goes on live";
  await page.getByLabel("Approve").check();
  await page.getByLabel("Reason").fill("looks good");
  await page.getByRole("button", { name: "Answer" }).click();
  await page.getByText(/Answered as local; the run goes on/).waitFor();
  await page.locator(".live", { hasText: "Finished: completed" }).waitFor();
  await page.locator(".call-completed", { hasText: "ship" }).waitFor();
  assert.equal(page.url().split("/").pop(), deployRun, "the page followed the run without navigating");
  await page.locator(".call", { hasText: "approval" }).getByText("Output").click();
  assert.match(await page.locator(".call", { hasText: "approval" }).locator("pre").last().innerText(), /"reason": "looks good"/);
  await shot(page, "desktop-run-completed");

  step = "a timeline that updates while the page is open";
  const ping = await apiPost("/api/tasks/ping/runs", { n: 7 });
  assert.equal(ping.status, 202);
  await page.goto(`/runs/${ping.body.run_id}`);
  await page.locator(".call-pending", { hasText: "pause" }).waitFor();
  assert.match(await page.locator(".live").innerText(), /^Live/);
  await page.locator(".live", { hasText: "Finished: completed" }).waitFor();
  await page.locator(".call-completed", { hasText: "answer" }).waitFor();

  step = "answer an input from the inputs page";
  const second = await apiPost("/api/tasks/deploy/runs", { service: "search" });
  assert.equal(second.status, 202);
  await page.goto("/inputs");
  await waitFor("the open input to be listed", async () => {
    await page.reload();
    return (await page.getByText("Deploy search with 2 replicas?").count()) > 0;
  });
  await page.locator("#inputs-badge").waitFor({ state: "visible" });
  const card = page.locator(".card", { hasText: "Deploy search with 2 replicas?" });
  await card.getByLabel("Approve").check();
  await card.getByRole("button", { name: "Answer" }).click();
  await card.getByText(/the run goes on/).waitFor();
  await page.goto(`/runs/${second.body.run_id}`);
  await page.locator(".live", { hasText: "Finished: completed" }).waitFor();

  step = "runs list, filtered by status and task";
  await page.goto("/runs");
  await page.locator("table.runs").waitFor();
  assert.ok(await page.locator(`a[href="/runs/${deployRun}"]`).count(), "the deploy run is listed");
  await page.getByLabel("Status").selectOption("completed");
  await page.getByLabel("Task").selectOption("ping");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.waitForURL(/status=completed&task=ping/);
  await page.locator("table.runs tbody tr").first().waitFor();
  const rows = await page.locator("table.runs tbody tr").allInnerTexts();
  assert.ok(rows.length >= 1 && rows.every((r) => /task ping/.test(r) && /completed/.test(r)), `filtered rows: ${rows}`);
  assert.ok(rows.some((r) => /task_ping/.test(r)), `the pipeline is named: ${rows}`);
  await shot(page, "desktop-runs");

  step = "replay preview, then the replay";
  await page.goto(`/runs/${ping.body.run_id}`);
  await page.getByRole("link", { name: "Replay…" }).click();
  await page.getByRole("heading", { name: "Replay preview" }).waitFor();
  await page.locator(".call", { hasText: "pause" }).waitFor();
  assert.match(await page.locator(".call", { hasText: "pause" }).locator("pre").innerText(), /"ms": 1500/);
  await shot(page, "desktop-replay-preview");
  await page.getByRole("button", { name: "Replay now" }).click();
  await page.waitForURL((url) => /\/runs\/[^/]+$/.test(url.pathname) && !url.pathname.endsWith(ping.body.run_id));
  await page.locator(".live", { hasText: "Finished: completed" }).waitFor();

  step = "a server-side field error beside its field";
  await page.goto("/tasks/count_things");
  await page.getByLabel("Count").fill("many");
  // The pipeline changes while the form is open: `count` becomes a number.
  const stale = join(pipelines, "stale.hops");
  writeFileSync(stale, readFileSync(stale, "utf8").replace('type = "string"', 'type = "number"'));
  await waitFor("the host to reload the pipelines", async () => {
    const tasks = await (await fetch(`${base}/api/tasks`)).json();
    return tasks.find((t) => t.name === "count_things").params[0].type === "number";
  });
  await page.getByRole("button", { name: "Run task" }).click();
  await page.locator("#param-count-error", { hasText: "Should be a number" }).waitFor();
  await page.locator(".form-error", { hasText: "invalid" }).or(page.locator(".form-error")).first().waitFor();
  assert.equal(await page.getByLabel("Count").getAttribute("aria-invalid"), "true");
  await shot(page, "desktop-server-field-error");

  step = "apps: world, status, grants and recent errors";
  const breaks = await apiPost("/api/tasks/breaks/runs", {});
  assert.equal(breaks.status, 202);
  await waitFor("the failing call", async () => {
    const apps = await (await fetch(`${base}/api/apps`)).json();
    return apps.find((a) => a.name === "echo").recent_errors.length > 0;
  });
  await page.goto("/apps");
  const echo = page.locator('[data-app="echo"]');
  await echo.getByText("worker").first().waitFor();
  await echo.getByText("Grants and limits").waitFor();
  await echo.getByText("the database is read-only").waitFor();
  await page.locator('[data-app="broken"]').getByText(/not a component/).waitFor();
  await shot(page, "desktop-apps");

  step = "problems: apps that failed to load, pipeline diagnostics";
  writeFileSync(join(pipelines, "broken.hops"), "on oops {\n  call echo_echo {\n    inputs = {\n");
  await waitFor("the broken file to be read", async () => {
    const p = await (await fetch(`${base}/api/problems`)).json();
    return p.pipelines && !p.pipelines.applied;
  });
  await page.goto("/problems");
  await page.locator(".diag-error", { hasText: "broken.hops" }).waitFor();
  await page.locator(".diag-error", { hasText: "broken" }).first().waitFor();
  await page.locator("#problems-badge").waitFor({ state: "visible" });
  await page.getByText(/keeps running/).waitFor();
  await shot(page, "desktop-problems");

  step = "the same pages on a phone (390 px)";
  const phone = await newPage({ width: 390, height: 844 });
  const pages = [["/tasks", "tasks"], ["/tasks/deploy?service=billing", "task-form"], ["/runs", "runs"],
    [`/runs/${deployRun}`, "run"], [`/runs/${ping.body.run_id}/replay`, "replay-preview"], ["/inputs", "inputs"],
    ["/apps", "apps"], ["/problems", "problems"]];
  for (const [path, name] of pages) {
    await phone.goto(path);
    await phone.locator("main h1").waitFor();
    await phone.waitForLoadState("networkidle").catch(() => {});
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `${path} is ${width} px wide on a 390 px screen`);
    await everyInputLabelled(phone);
    await shot(phone, `phone-${name}`);
  }
  step = "a phone submits a form";
  await phone.goto("/tasks/ping");
  await phone.getByRole("button", { name: "Run task" }).click();
  await phone.waitForURL(/\/runs\/[^/]+$/);
  await phone.locator(".live", { hasText: "Finished: completed" }).waitFor();
  await shot(phone, "phone-run-completed");

  step = "keyboard: the skip link and the navigation";
  await page.goto("/runs");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Skip to content");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), "Tasks");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Tasks", level: 1 }).waitFor();

  const tokenHost = process.env.HOPS_CONSOLE_TOKEN_URL;
  if (tokenHost) {
    step = "a host with a token: the console asks for it and keeps it in the tab";
    const guarded = await newPage({ width: 1280, height: 900 }, tokenHost);
    await guarded.goto(`${tokenHost}/tasks`);
    await guarded.getByRole("heading", { name: "This host needs its API token" }).waitFor();
    await everyInputLabelled(guarded);
    await guarded.getByLabel("API token").fill("wrong");
    await guarded.getByRole("button", { name: "Use token" }).click();
    await guarded.getByText("The token kept in this tab was refused.").waitFor();
    await shot(guarded, "desktop-token-refused");
    await guarded.getByLabel("API token").fill(process.env.HOPS_CONSOLE_TOKEN);
    await guarded.getByRole("button", { name: "Use token" }).click();
    await guarded.getByRole("heading", { name: "Tasks", level: 1 }).waitFor();
    await guarded.goto(`${tokenHost}/tasks/ping`);
    await guarded.getByRole("button", { name: "Run task" }).click();
    await guarded.locator(".live", { hasText: "Finished: completed" }).waitFor();
    const runs = await (await fetch(`${tokenHost}/api/runs`, { headers: { authorization: `Bearer ${process.env.HOPS_CONSOLE_TOKEN}` } })).json();
    assert.equal(runs[0].started_by, "token");
  }

  assert.deepEqual(problems, [], "the pages logged errors or reached elsewhere");
  writeFileSync(join(artifacts, "passed.txt"), "every step passed\n");
  console.log("console browser test: every step passed");
} catch (err) {
  console.error(`console browser test failed at "${step}": ${err.stack || err}`);
  if (problems.length) console.error(problems.join("\n"));
  process.exitCode = 1;
} finally {
  await browser.close();
}
