// The happy path, as a new user: sign up, upload a photo, open it, stylize it, find its
// face, make an API key (its secret shown once), log out for good.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { BASE, PHOTO, UI_MS, VISION_MS, assertSignedOutHeader, freshEmail, heading, launch, register, session, until, visible } from "../lib.js";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

test("a new user signs up, uploads a photo, stylizes it, sees its face boxed, makes an API key and logs out for good", async () => {
  const { page, context, step, soft, assertClean } = await session(browser, "happy");
  const email = freshEmail("happy");
  const credits = page.getByRole("banner").getByTitle("Credits");

  await step("register", async () => {
    await register(page, email);
    await heading(page, "My images");
    await visible(page.getByText(email, { exact: true }));
    await until(async () => (await credits.textContent()) === "19 credits", "the sign-up grant in the header");
  });

  await step("upload", async () => {
    await page.getByLabel("Choose images").setInputFiles(PHOTO);
    const upload = page.getByRole("list", { name: "Uploads" }).getByRole("listitem").filter({ hasText: "astronaut.jpg" });
    await visible(upload.getByText("Uploaded: 256×256 jpeg"));
    await visible(page.getByRole("list", { name: "Your images" }).getByRole("link", { name: "astronaut.jpg" }));
  });

  await step("image-page", async () => {
    await page.getByRole("list", { name: "Your images" }).getByRole("link", { name: "astronaut.jpg" }).click();
    await heading(page, "astronaut.jpg");
    await visible(page.getByRole("cell", { name: "256 × 256 px" }));
    // The original, fetched with the bearer token, is shown.
    const picture = page.getByRole("img", { name: "astronaut.jpg" });
    await until(() => picture.evaluate((img) => img.complete && img.naturalWidth === 256), "the original to load");
  });

  await step("stylize", async () => {
    const form = page.getByRole("form", { name: "Stylize" });
    await form.getByRole("button", { name: "Style 3", exact: true }).click();
    assert.equal(await form.getByRole("button", { name: "Style 3", exact: true }).getAttribute("aria-pressed"), "true");
    await form.getByRole("button", { name: "Stylize", exact: true }).click();
    const result = page.getByRole("img", { name: "Stylize (style 3) result" });
    await visible(result, VISION_MS);
    await until(() => result.evaluate((img) => img.complete && img.naturalWidth > 0), "the stylized image to decode");
    await until(async () => (await credits.textContent()) === "9 credits", "the header to show 19 - 10 credits");
  });

  await step("detect-faces", async () => {
    await page.getByRole("button", { name: "Detect faces", exact: true }).click();
    const result = page.getByRole("img", { name: "Detect faces result" });
    await visible(result, VISION_MS);
    // The face boxes: SVG rectangles drawn over the result (the photo has one face).
    const boxes = page.locator(".stage", { has: result }).locator("svg rect");
    await until(async () => (await boxes.count()) >= 1, "a face box over the image", UI_MS);
    const box = await boxes.first().boundingBox();
    const shown = await result.boundingBox();
    assert.ok(box && shown && box.width > 0 && box.height > 0, "the face box has a size");
    const inside = box.x >= shown.x - 1 && box.y >= shown.y - 1 && box.x + box.width <= shown.x + shown.width + 1 && box.y + box.height <= shown.y + shown.height + 1;
    assert.ok(inside, "the face box lies over the image");
    await visible(page.getByRole("heading", { name: "1 face" }));
    await until(async () => (await credits.textContent()) === "6 credits", "the header to show 9 - 3 credits");
  });

  await step("job-page", async () => {
    const card = page.getByRole("listitem").filter({ has: page.getByRole("heading", { name: "Detect faces", exact: true }) });
    await card.getByRole("link", { name: "Open job" }).click();
    await heading(page, /^Job [0-9a-f]{8}$/);
    await visible(page.getByRole("region", { name: "Summary" }).getByText("succeeded", { exact: true }));
    // The job's own page draws the same face box over its output.
    const boxes = page.locator(".stage svg rect");
    await until(async () => (await boxes.count()) >= 1, "a face box on the job page");
    await visible(page.getByRole("heading", { name: "1 face" }));
  });

  let secret;
  await step("api-key", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Account" }).click();
    await heading(page, "Account");
    const made = page.waitForResponse((r) => new URL(r.url()).pathname === "/v1/me/keys" && r.request().method() === "POST");
    await page.getByLabel("Key name").fill("e2e key");
    await page.getByRole("button", { name: "Create key", exact: true }).click();
    const response = await made;
    assert.equal(response.status(), 201, await response.text());
    secret = (await response.json()).secret;
    assert.match(secret, /^atl_/);
    const shown = page.getByLabel("Secret", { exact: true });
    await visible(shown);
    assert.equal(await shown.inputValue(), secret, "the page shows the new key's secret");
    await visible(page.getByText("it will not be shown again", { exact: false }));
    await visible(page.getByRole("cell", { name: "e2e key", exact: true }));
    // The secret works as a bearer token.
    const me = await fetch(`${BASE}/v1/me`, { headers: { Authorization: `Bearer ${secret}` } });
    assert.equal(me.status, 200, "the new key authenticates");
    assert.equal((await me.json()).email, email);
  });

  await step("api-key-shown-once", async () => {
    await page.reload();
    await heading(page, "Account");
    await visible(page.getByRole("cell", { name: "e2e key", exact: true }));
    assert.equal(await page.getByLabel("Secret", { exact: true }).count(), 0, "no secret field after a reload");
    const anywhere = await page.evaluate(
      (s) => document.body.innerText.includes(s) || [...document.querySelectorAll("input, textarea")].some((i) => i.value.includes(s)),
      secret,
    );
    assert.equal(anywhere, false, "the secret is shown only once");
  });

  await step("logout", async () => {
    const before = (await context.cookies()).find((c) => c.name === "atelier_refresh");
    assert.ok(before, "a refresh cookie while signed in");
    await page.getByRole("button", { name: "Log out" }).click();
    await heading(page, "Log in");
    await page.reload();
    await heading(page, "Log in");
    await soft(() => assertSignedOutHeader(page));
    // The refresh token was revoked on the server, not only dropped by the browser.
    const replay = await fetch(`${BASE}/v1/auth/refresh`, { method: "POST", headers: { Cookie: `atelier_refresh=${before.value}` } });
    assert.equal(replay.status, 401, "the old refresh token no longer works");
  });

  assertClean();
});
