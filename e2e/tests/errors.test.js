// The error paths, each shown in the API's own words (message and code): a wrong
// password, a corrupt upload (next to its file, adding no image), and a stylize the
// account's credits do not cover (with what it needs and what is left).

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { PASSWORD, PHOTO, VISION_MS, apiGet, apiToken, assertSignedOutHeader, fillLogin, freshEmail, heading, launch, register, session, until, visible } from "../lib.js";

let browser;
let scratch;
before(async () => {
  browser = await launch();
  scratch = mkdtempSync(path.join(tmpdir(), "atelier-e2e-"));
});
after(async () => {
  await browser?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test("a wrong password, a corrupt upload and a stylize without enough credits each show the API's error", async () => {
  const { page, step, soft, assertClean } = await session(browser, "errors");
  const email = freshEmail("errors");
  const credits = page.getByRole("banner").getByTitle("Credits");

  await step("register-and-log-out", async () => {
    await register(page, email);
    await page.getByRole("button", { name: "Log out" }).click();
    await heading(page, "Log in");
  });

  await step("wrong-password", async () => {
    await fillLogin(page, email, "not the passphrase 1");
    const alert = page.getByRole("alert").filter({ hasText: "wrong email or password" });
    await visible(alert);
    await visible(alert.getByText("invalid_credentials", { exact: true }));
    assert.match(page.url(), /#\/login/, "still on the login page");
    await soft(() => assertSignedOutHeader(page));
  });

  await step("log-in", async () => {
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByRole("button", { name: "Log in" }).click();
    await heading(page, "My images");
    assert.equal(await page.getByRole("alert").filter({ hasText: "invalid_credentials" }).count(), 0, "the old error is gone");
  });

  await step("corrupt-upload", async () => {
    const truncated = path.join(scratch, "truncated.jpg");
    writeFileSync(truncated, readFileSync(PHOTO).subarray(0, 2000));
    await page.getByLabel("Choose images").setInputFiles(truncated);
    const row = page.getByRole("list", { name: "Uploads" }).getByRole("listitem").filter({ hasText: "truncated.jpg" });
    const alert = row.getByRole("alert");
    await visible(alert);
    await visible(alert.getByText("truncated_image", { exact: true }));
    assert.match(await alert.textContent(), /the JPEG data ends early/);
    await visible(row.getByText("Failed", { exact: true }));
    // No image was added: not in the grid, not in the API.
    assert.equal(await page.getByRole("list", { name: "Your images" }).getByRole("listitem").count(), 0);
    await visible(page.getByText("No images yet: upload some above."));
    const token = await apiToken(email);
    assert.equal((await apiGet(token, "/v1/images")).items.length, 0, "the API lists no image");
  });

  await step("stylize-spends-credits", async () => {
    await page.getByLabel("Choose images").setInputFiles(PHOTO);
    const link = page.getByRole("list", { name: "Your images" }).getByRole("link", { name: "astronaut.jpg" });
    await link.click();
    await heading(page, "astronaut.jpg");
    await page.getByRole("form", { name: "Stylize" }).getByRole("button", { name: "Stylize", exact: true }).click();
    await visible(page.getByRole("img", { name: "Stylize (style 0) result" }), VISION_MS);
    await until(async () => (await credits.textContent()) === "9 credits", "the header to show 19 - 10 credits");
  });

  await step("insufficient-credits", async () => {
    const form = page.getByRole("form", { name: "Stylize" });
    await form.getByRole("button", { name: "Style 5", exact: true }).click();
    await form.getByRole("button", { name: "Stylize", exact: true }).click();
    const alert = form.getByRole("alert");
    await visible(alert);
    await visible(alert.getByText("insufficient_credits", { exact: true }));
    const text = await alert.textContent();
    assert.match(text, /not enough credits: 10 needed, 9 available/);
    assert.match(text, /This needs 10 credits; you have 9\./);
    // Nothing was queued or charged.
    assert.equal(await page.getByRole("img", { name: "Stylize (style 5) result" }).count(), 0);
    assert.equal(await credits.textContent(), "9 credits");
    const token = await apiToken(email);
    assert.equal((await apiGet(token, "/v1/me")).balance, 9);
  });

  assertClean();
});
