// Shared pieces of the browser tests: Chromium through playwright-core, one context per
// test that records every console error, uncaught exception and CSP violation, the tokens
// the auth API hands out (to look for them in storage later), and named steps that each
// leave a screenshot in E2E_OUT. scripts/e2e.sh sets the environment.

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

if (!process.env.E2E_BASE_URL) throw new Error("E2E_BASE_URL is not set: run the browser tests with scripts/e2e.sh");
export const BASE = process.env.E2E_BASE_URL;
export const ROOT = process.env.E2E_ROOT || path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const OUT = process.env.E2E_OUT || path.join(ROOT, "target", "e2e");
export const CHROMIUM = process.env.E2E_CHROMIUM || "/usr/bin/chromium";
export const PASSWORD = "a long passphrase for e2e 1";
export const PHOTO = path.join(ROOT, "test-data", "photos", "astronaut.jpg");

/** Waits for UI, not the clock: a step's ordinary wait, and the vision steps' (models load on first use). */
export const UI_MS = 20_000;
export const VISION_MS = 90_000;

export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

let emails = 0;
/** An address no other test of this run uses. */
export function freshEmail(who) {
  emails += 1;
  return `${who}-${Date.now().toString(36)}-${emails}@example.com`;
}

/**
 * A browser context for one test, `prefix` naming its screenshots. `problems` collects
 * console errors, page errors, CSP violations and failed `soft` checks; `apiErrors` the browser's own log lines
 * for API answers >= 400 (expected on the error paths, so they are not problems); `tokens`
 * every access and refresh token the auth API answered with.
 */
export async function session(browser, prefix) {
  mkdirSync(OUT, { recursive: true });
  const context = await browser.newContext({ baseURL: BASE, viewport: { width: 1280, height: 900 } });
  // Reported from the page itself too, in case a violation has no console line.
  await context.addInitScript(() => {
    document.addEventListener(
      "securitypolicyviolation",
      (e) => console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`),
      true,
    );
  });
  context.setDefaultTimeout(UI_MS);
  const page = await context.newPage();
  const problems = [];
  const apiErrors = [];
  const tokens = new Set();
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const text = msg.text();
    const where = msg.location()?.url || "";
    // Chromium logs every HTTP error answer as "Failed to load resource"; for the API
    // (/v1/...) those are the error paths under test, shown by the app in its own words.
    if (/^Failed to load resource: the server responded with a status of/.test(text) && new URL(where, BASE).pathname.startsWith("/v1/")) {
      apiErrors.push(`${where}: ${text}`);
      return;
    }
    problems.push(`console error on ${page.url()}: ${text}${where ? ` (${where})` : ""}`);
  });
  page.on("pageerror", (err) => problems.push(`uncaught exception on ${page.url()}: ${err.stack || err.message}`));
  page.on("response", async (response) => {
    if (!/\/v1\/auth\/(login|register|refresh)$/.test(new URL(response.url()).pathname) || !response.ok()) return;
    try {
      const body = await response.json();
      if (body.access_token) tokens.add(body.access_token);
      if (body.refresh_token) tokens.add(body.refresh_token);
    } catch {
      /* not JSON: nothing to remember */
    }
  });

  let count = 0;
  /** Runs `work`, then saves `<prefix>-NN-<name>.png`; on failure `...-<name>-FAILED.png`, and names the step. */
  async function step(name, work) {
    count += 1;
    const file = path.join(OUT, `${prefix}-${String(count).padStart(2, "0")}-${name}`);
    try {
      const value = await work();
      await page.screenshot({ path: `${file}.png`, fullPage: true });
      return value;
    } catch (err) {
      await page.screenshot({ path: `${file}-FAILED.png`, fullPage: true }).catch(() => {});
      err.message = `step "${name}": ${err.message}`;
      throw err;
    }
  }

  /** A check whose failure is reported at the end (by assertClean) rather than stopping the test. */
  async function soft(check) {
    try {
      await check();
    } catch (err) {
      problems.push(`check failed on ${page.url()}: ${err.message}`);
    }
  }

  /** Fails when anything went to the console as an error, threw, broke the CSP, or a soft check failed. */
  function assertClean() {
    assert.deepEqual(problems, [], `problems seen in the browser:\n${problems.join("\n")}`);
  }

  return { context, page, problems, apiErrors, tokens, step, soft, assertClean };
}

/** Visible within `timeout`: the one waiting primitive (no sleeps). */
export function visible(locator, timeout = UI_MS) {
  return locator.waitFor({ state: "visible", timeout });
}

/** Polls `probe` until it returns a truthy value. */
export async function until(probe, what, timeout = UI_MS) {
  const end = Date.now() + timeout;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The page's main heading, once it says `name`. */
export function heading(page, name) {
  return visible(page.getByRole("heading", { level: 1, name }));
}

/** Signs up through the register form; ends on the images page. */
export async function register(page, email, password = PASSWORD) {
  await page.goto("/#/register");
  await heading(page, "Create an account");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(/#\/images$/, { timeout: UI_MS });
  await visible(page.getByRole("banner").getByText(email, { exact: true }));
}

/** The header of a signed-out page: no app navigation, no "Log out". */
export async function assertSignedOutHeader(page) {
  const nav = page.getByRole("navigation", { name: "Main" });
  const logout = page.getByRole("button", { name: "Log out" });
  assert.ok(await nav.isHidden(), "a signed-out page shows the main navigation (Images, Jobs, Pipelines, Account)");
  assert.ok(await logout.isHidden(), "a signed-out page shows the \"Log out\" button");
}

/** Signs in through the login form (no wait for the outcome). */
export async function fillLogin(page, email, password) {
  await heading(page, "Log in");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

/** The API from the test itself: an access token for `email` (a session of its own). */
export async function apiToken(email, password = PASSWORD) {
  const response = await fetch(`${BASE}/v1/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  assert.equal(response.status, 200, `API login for ${email}: ${await response.clone().text()}`);
  return (await response.json()).access_token;
}

export async function apiGet(token, route) {
  const response = await fetch(`${BASE}${route}`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200, `GET ${route}: ${await response.clone().text()}`);
  return response.json();
}

/** A JSON request as `token`; the answer must be 2xx (its body, read to the end, parsed). */
export async function apiJson(token, method, route, body) {
  const response = await fetch(`${BASE}${route}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${route}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
