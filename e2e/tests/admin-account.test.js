// The account page and the admin page: a user's credit history (the sign-up grant, then
// what their jobs were charged, each charge linked to its job); an admin, made with the CLI
// and signed in through the UI, reads the queue's health and grants the user credits, which
// the users table, the API and the user's own history all show; a non-admin gets
// "Admins only". scripts/e2e.sh passes the server's configuration as E2E_CONFIG.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { BASE, PASSWORD, PHOTO, ROOT, apiGet, apiJson, apiToken, fillLogin, freshEmail, heading, launch, register, session, until, visible } from "../lib.js";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

/** Runs the atelier CLI against the test server's data, as scripts/e2e.sh configured it. */
function atelier(...args) {
  const config = process.env.E2E_CONFIG;
  assert.ok(config, "E2E_CONFIG is not set: run the browser tests with scripts/e2e.sh");
  // As for the server: the file alone configures it, not ATELIER_* variables of this shell.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("ATELIER_")));
  const run = spawnSync(path.join(ROOT, "target", "debug", "atelier"), [...args, "--config", config], {
    env: { ...env, ATELIER_PASSWORD: PASSWORD },
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(run.status, 0, `atelier ${args.join(" ")}: ${run.error || ""}${run.stderr}${run.stdout}`);
  return run.stdout;
}

/** Runs `ops` on `image` through the API and waits for the job to succeed; its id. */
async function runJob(token, ops, image) {
  const job = await apiJson(token, "POST", "/v1/jobs", { ops, images: [image] });
  await until(async () => {
    const now = await apiGet(token, `/v1/jobs/${job.id}`);
    assert.ok(["queued", "running", "succeeded"].includes(now.state), `job ${job.id} ended ${now.state}: ${JSON.stringify(now)}`);
    return now.state === "succeeded";
  }, `job ${ops.join(" ")} to succeed`, 60_000);
  return job.id;
}

/** The cells' texts of each body row of `table`. */
function rowsOf(table) {
  return table.locator("tbody tr").evaluateAll((rows) => rows.map((tr) => [...tr.cells].map((td) => td.textContent.trim())));
}

test("a user's account shows their credit history, an admin sees queue health and grants them credits, and a non-admin sees Admins only", async () => {
  const user = await session(browser, "account");
  const email = freshEmail("account");
  const adminEmail = freshEmail("admin");

  // Two jobs, one of 1 credit a picture and one of 2, run through the API.
  const ops = await (await fetch(`${BASE}/v1/ops`)).json();
  const costOf = (name) => ops.find((o) => o.name === name).cost;
  const first = ["thumbnail:width=64"];
  const second = ["grayscale", "thumbnail:width=64"];
  const firstCost = costOf("thumbnail");
  const secondCost = costOf("grayscale") + costOf("thumbnail");

  let token;
  let jobs;
  let grant;
  let left;
  await user.step("register-and-run-jobs", async () => {
    await register(user.page, email);
    token = await apiToken(email);
    grant = (await apiGet(token, "/v1/me")).balance;
    assert.ok(firstCost > 0 && secondCost > 0 && firstCost + secondCost <= grant, `the sign-up grant (${grant}) covers both jobs and each costs something`);
    left = grant - firstCost - secondCost;
    const form = new FormData();
    form.append("file", new Blob([readFileSync(PHOTO)]), "astronaut.jpg");
    const uploaded = await fetch(`${BASE}/v1/images`, { method: "POST", headers: { Authorization: `Bearer ${token}` }, body: form });
    const text = await uploaded.text();
    assert.equal(uploaded.status, 201, text);
    const image = JSON.parse(text).id;
    jobs = [await runJob(token, first, image), await runJob(token, second, image)];
    assert.equal((await apiGet(token, "/v1/me")).balance, left);
  });

  await user.step("credit-history", async () => {
    const { page } = user;
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Account" }).click();
    await heading(page, "Account");
    await visible(page.getByText(`Balance: ${left} credits`, { exact: true }));
    const history = page.getByRole("table", { name: "Credit history, newest first" });
    await visible(history);
    // Newest first: the second job's charge, the first's, then the sign-up grant.
    const rows = (await rowsOf(history)).map(([, change, kind, job, note, balance]) => [change, kind, job, note, balance]);
    assert.deepEqual(rows, [
      [`-${secondCost}`, "charge", jobs[1].slice(0, 8), "", String(left)],
      [`-${firstCost}`, "charge", jobs[0].slice(0, 8), "", String(grant - firstCost)],
      [`+${grant}`, "grant", "", "sign-up grant", String(grant)],
    ]);
    // A charge links to its job.
    await history.getByRole("link", { name: jobs[0].slice(0, 8) }).click();
    await heading(page, `Job ${jobs[0].slice(0, 8)}`);
    await visible(page.getByRole("region", { name: "Summary" }).getByText("succeeded", { exact: true }));
  });

  await user.step("not-an-admin", async () => {
    const { page } = user;
    assert.ok(await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" }).isHidden(), "a user's header links to Admin");
    await page.goto("/#/admin");
    await heading(page, "Admins only");
    await visible(page.getByText("This page is for administrators."));
    assert.equal(await page.getByRole("heading", { name: "Workers and queue health" }).count(), 0);
  });

  const admin = await session(browser, "admin");
  await admin.step("admin-log-in", async () => {
    assert.match(atelier("user", "add", adminEmail, "--admin"), /created admin/);
    const { page } = admin;
    await page.goto("/");
    await fillLogin(page, adminEmail, PASSWORD);
    await heading(page, "My images");
    await visible(page.getByRole("banner").getByText(adminEmail, { exact: true }));
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" }).click();
    await heading(page, "Admin");
  });

  await admin.step("queue-health", async () => {
    const { page } = admin;
    await visible(page.getByRole("heading", { name: "Workers and queue health" }));
    await visible(page.getByText("Database and blob store: ready.", { exact: true }));
    const byState = page.getByRole("table", { name: "Jobs by state" });
    await visible(byState);
    const counts = Object.fromEntries((await rowsOf(byState)).map(([state, n]) => [state, Number(n)]));
    assert.deepEqual(Object.keys(counts), ["queued", "running", "succeeded", "failed", "canceled", "dead"]);
    assert.ok(counts.succeeded >= 2, `the user's two jobs are among the succeeded: ${JSON.stringify(counts)}`);
    const adminToken = await apiToken(adminEmail);
    const queue = await apiGet(adminToken, "/v1/admin/queue");
    assert.equal(counts.succeeded, queue.jobs.succeeded, "the page shows the API's count");

    const workers = page.getByRole("table", { name: "Workers heard from in the last day, most recent first" });
    await visible(workers);
    const rows = await rowsOf(workers);
    const live = rows.filter((cells) => cells[3] === "live").length;
    assert.ok(live >= 1, `a live worker: ${JSON.stringify(rows)}`);
    await visible(page.getByText(`${live} live worker${live === 1 ? "" : "s"}.`, { exact: true }));
  });

  await admin.step("grant-credits", async () => {
    const { page } = admin;
    const row = page.getByRole("row").filter({ has: page.getByRole("cell", { name: email, exact: true }) });
    // Every account is listed by email, a page at a time.
    await until(async () => {
      if (await row.count()) return true;
      const more = page.getByRole("button", { name: "Load more users" });
      if (await more.isVisible()) await more.click();
      return false;
    }, `${email} in the users table`);
    const balance = row.getByRole("cell").nth(3);
    assert.equal(await balance.textContent(), String(left));
    await row.getByRole("button", { name: `Manage ${email}` }).click();
    const form = page.getByRole("region", { name: `Manage ${email}` }).getByRole("form", { name: `Credits of ${email}` });
    await form.getByLabel("Amount", { exact: true }).fill("25");
    await form.getByLabel("Reason (optional)").fill("e2e top-up");
    await form.getByRole("button", { name: "Grant credits" }).click();
    await until(async () => (await balance.textContent()) === String(left + 25), `the user's balance in the table to become ${left + 25}`);
    await visible(page.getByText(`Granted 25 credits: ${email} now has ${left + 25}`));
    assert.equal((await apiGet(token, "/v1/me")).balance, left + 25, "the API shows the grant");
  });

  await user.step("grant-in-history", async () => {
    const { page } = user;
    // Loaded afresh, as the header reads the balance once per page load.
    await page.goto("/#/account");
    await page.reload();
    await heading(page, "Account");
    await visible(page.getByText(`Balance: ${left + 25} credits`, { exact: true }));
    await until(async () => (await page.getByRole("banner").getByTitle("Credits").textContent()) === `${left + 25} credits`, "the header to show the grant");
    const history = page.getByRole("table", { name: "Credit history, newest first" });
    const [newest] = await rowsOf(history);
    assert.deepEqual(newest.slice(1), ["+25", "grant", "", "e2e top-up", String(left + 25)]);
  });

  user.assertClean();
  admin.assertClean();
});
