// Security in the browser: every page of the app loads without a console error, an
// uncaught exception or a Content-Security-Policy violation; the refresh token stays in its
// HttpOnly cookie (never in document.cookie), and no token is kept in web storage.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { PHOTO, freshEmail, heading, launch, register, session, visible } from "../lib.js";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

test("every page loads without console errors or CSP violations, and no token is readable by scripts or kept in storage", async () => {
  const { page, context, step, tokens, assertClean } = await session(browser, "security");

  await step("login-page", async () => {
    const response = await page.goto("/");
    // The policy is there to be broken: otherwise "no violations" would prove nothing.
    const csp = response.headers()["content-security-policy"] || "";
    assert.match(csp, /script-src 'self'(;|$)/, `the page's CSP: ${csp}`);
    assert.match(csp, /style-src 'self'(;|$)/, `the page's CSP: ${csp}`);
    await heading(page, "Log in");
  });
  await step("register", () => register(page, freshEmail("security")));

  let imagePage;
  await step("images-with-upload", async () => {
    await heading(page, "My images");
    await page.getByLabel("Choose images").setInputFiles(PHOTO);
    const link = page.getByRole("link", { name: "astronaut.jpg" });
    await visible(link);
    imagePage = await link.getAttribute("href");
  });

  // Every route of the app, each loaded afresh from its address (as a bookmark or a
  // reload would: the session comes back from the refresh cookie).
  const pages = [
    ["image", imagePage, "astronaut.jpg"],
    ["jobs", "#/jobs", "Jobs"],
    ["pipelines", "#/pipelines", "Pipelines"],
    ["pipeline-new", "#/pipelines/new", "New pipeline"],
    ["account", "#/account", "Account"],
    ["admin", "#/admin", "Admins only"],
    ["not-found", "#/no-such-page", "Not found"],
    ["images", "#/images", "My images"],
  ];
  for (const [name, hash, title] of pages) {
    await step(`page-${name}`, async () => {
      await page.goto("about:blank");
      await page.goto(`/${hash}`);
      await heading(page, title);
      // The view is drawn, not just its heading: no "Loading…" placeholder left.
      await page.getByText("Loading…", { exact: true }).first().waitFor({ state: "hidden" });
    });
  }

  await step("cookies-and-storage", async () => {
    // The refresh cookie exists, but only the browser may read it.
    const cookies = await context.cookies();
    const refresh = cookies.find((c) => c.name === "atelier_refresh");
    assert.ok(refresh, `no refresh cookie; cookies: ${cookies.map((c) => c.name).join(", ")}`);
    assert.equal(refresh.httpOnly, true, "the refresh cookie is HttpOnly");
    assert.equal(refresh.sameSite, "Strict", "the refresh cookie is SameSite=Strict");
    assert.ok(tokens.size >= 2, "the auth API handed out tokens during the test");

    const seen = await page.evaluate(() => {
      const dump = (store) => Object.fromEntries(Array.from({ length: store.length }, (_, i) => [store.key(i), store.getItem(store.key(i))]));
      return { cookie: document.cookie, local: dump(localStorage), session: dump(sessionStorage) };
    });
    assert.ok(!seen.cookie.includes(refresh.value), "document.cookie shows the refresh token");
    assert.ok(!/atelier_refresh/.test(seen.cookie), `document.cookie names the refresh cookie: ${seen.cookie}`);
    const stored = JSON.stringify([seen.local, seen.session]);
    for (const token of [...tokens, refresh.value]) {
      assert.ok(!stored.includes(token), "a token is kept in localStorage or sessionStorage");
    }
    // Nothing token-shaped either: a JWT or a refresh token from some other moment.
    assert.doesNotMatch(stored, /eyJ[\w-]+\.[\w-]+\.[\w-]+|rt_[\w-]{20,}/, `web storage holds something token-like: ${stored}`);
  });

  assertClean();
});
