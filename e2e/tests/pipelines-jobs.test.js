// Pipelines and jobs, as a new user: build a pipeline step by step (add, set a field, move,
// remove, add back), save it and a second version, run version 1 over two photos chosen on
// the images page, follow the job on the jobs list until it succeeds (live, no reload),
// filter the list by state, and see the job's outputs, its before/after slider and its zip.
// Then a file over 8 MiB goes through the chunked upload API, with its progress shown.
//
// To see a job change state on the jobs list, it must still be queued when the list loads:
// another account first fills every worker of the test server (scripts/e2e.sh: workers = 2,
// read from E2E_CONFIG) with long, free (convert-only) jobs, and cancels them when the list
// is on screen.

import assert from "node:assert/strict";
import { deflateSync } from "node:zlib";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { BASE, PASSWORD, ROOT, UI_MS, apiGet, apiJson, apiToken, freshEmail, heading, launch, register, session, until, visible } from "../lib.js";

const PHOTOS = ["astronaut.jpg", "rocket.jpg"].map((name) => path.join(ROOT, "test-data", "photos", name));

let browser;
let scratch;
const blockers = []; // [token, job id] of the jobs that hold the workers, canceled at the latest here
before(async () => {
  browser = await launch();
  scratch = mkdtempSync(path.join(tmpdir(), "atelier-e2e-"));
});
after(async () => {
  await cancelBlockers();
  await browser?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

// ---- a PNG of random noise (it does not compress), written with zlib and a CRC table ----

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i += 1) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type, data) {
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** An 8-bit RGB PNG of `width`×`height` random pixels, stored (deflate level 0) by default. */
function noisePng(width, height, level = 0) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB; compression, filter and interlace stay 0
  const stride = width * 3 + 1;
  const raw = randomBytes(stride * height);
  for (let y = 0; y < height; y += 1) raw[y * stride] = 0; // filter type None
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, pngChunk("IHDR", header), pngChunk("IDAT", deflateSync(raw, { level })), pngChunk("IEND", Buffer.alloc(0))]);
}

// ---- the API from the test itself ----

async function apiRegister(email) {
  const response = await fetch(`${BASE}/v1/auth/register`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  assert.equal(response.status, 201, `API register ${email}: ${await response.clone().text()}`);
  return (await response.json()).access_token;
}

async function apiUpload(token, bytes, name) {
  const form = new FormData();
  form.append("file", new Blob([bytes]), name);
  const response = await fetch(`${BASE}/v1/images`, { method: "POST", headers: { Authorization: `Bearer ${token}` }, body: form });
  assert.equal(response.status, 201, `upload ${name}: ${await response.clone().text()}`);
  return response.json();
}

/** Polls a job through the API until `wanted(job)` holds. */
function jobUntil(token, id, wanted, what, timeout = 60_000) {
  return until(async () => {
    const job = await apiGet(token, `/v1/jobs/${id}`);
    return wanted(job) ? job : null;
  }, what, timeout);
}

/** How many jobs the server runs at once: its `workers` (0 or unset: one per core). */
function workers() {
  const config = process.env.E2E_CONFIG ? readFileSync(process.env.E2E_CONFIG, "utf8") : "";
  const n = Number(/^workers\s*=\s*(\d+)/m.exec(config)?.[1] || 0);
  return n > 0 ? n : availableParallelism();
}

/** Fills every worker with a long job of another account (free: convert costs nothing). */
async function holdTheWorkers() {
  const token = await apiRegister(freshEmail("blocker"));
  const image = await apiUpload(token, noisePng(600, 600, 1), "blocker.png");
  const ids = [];
  for (let n = 0; n < workers(); n += 1) {
    const job = await apiJson(token, "POST", "/v1/jobs", { ops: ["convert:format=webp,lossless=true"], images: Array(500).fill(image.id) });
    blockers.push([token, job.id]);
    ids.push(job.id);
  }
  for (const id of ids) {
    await jobUntil(token, id, (job) => {
      assert.ok(["queued", "running"].includes(job.state), `blocker job ${id} ended early: ${job.state}`);
      return job.state === "running";
    }, `blocker job ${id} to be running`);
  }
}

async function cancelBlockers() {
  for (const [token, id] of blockers.splice(0)) {
    await fetch(`${BASE}/v1/jobs/${id}/cancel`, { method: "POST", headers: { Authorization: `Bearer ${token}` } })
      .then((response) => response.arrayBuffer())
      .catch(() => {});
  }
}

/** The ids of the steps in the builder, in order, as their cards are named. */
function stepNames(page) {
  return page.getByRole("list", { name: "Steps" }).getByRole("listitem").evaluateAll((items) => items.map((li) => li.getAttribute("aria-label")));
}

test("a user builds and versions a pipeline, runs it on two photos, follows the job live on the jobs list, filters it, and gets its outputs and zip", async () => {
  const { page, step, soft, assertClean } = await session(browser, "pipelines");
  const email = freshEmail("pipelines");
  const name = `thumbs-${Date.now().toString(36)}`;
  const credits = page.getByRole("banner").getByTitle("Credits");

  // What the run costs, from the catalogue: thumbnail and convert per image, two images.
  const ops = await (await fetch(`${BASE}/v1/ops`)).json();
  const costOf = (op) => ops.find((o) => o.name === op).cost;
  const perImage = costOf("thumbnail") + costOf("convert");
  const runCost = perImage * PHOTOS.length;

  let grant;
  await step("register", async () => {
    await register(page, email);
    grant = (await apiGet(await apiToken(email), "/v1/me")).balance;
    assert.ok(runCost > 0 && runCost <= grant, `the run costs ${runCost}: the sign-up grant (${grant}) must cover it`);
    await until(async () => (await credits.textContent()) === `${grant} credits`, "the sign-up grant in the header");
  });

  await step("builder-add-steps", async () => {
    await page.goto("/#/pipelines/new");
    await heading(page, "New pipeline");
    await visible(page.getByText("No steps yet: choose an op below and add it."));
    const op = page.getByLabel("Op", { exact: true });
    await op.selectOption("thumbnail");
    await page.getByRole("button", { name: "Add step", exact: true }).click();
    await visible(page.getByRole("heading", { name: "Step 1: thumbnail" }));
    await op.selectOption("convert");
    await page.getByRole("button", { name: "Add step", exact: true }).click();
    await visible(page.getByRole("heading", { name: "Step 2: convert" }));
    const thumbnail = page.getByRole("listitem", { name: "Step 1: thumbnail" });
    await thumbnail.getByLabel("width", { exact: true }).fill("200");
    await page.getByRole("listitem", { name: "Step 2: convert" }).getByLabel("format", { exact: true }).selectOption("webp");
    assert.deepEqual(await stepNames(page), ["Step 1: thumbnail", "Step 2: convert"]);
  });

  await step("builder-move-remove", async () => {
    await page.getByRole("button", { name: "Move step 2 up" }).click();
    await until(async () => (await stepNames(page)).join() === "Step 1: convert,Step 2: thumbnail", "convert to move to step 1");
    assert.ok(await page.getByRole("button", { name: "Move step 1 up" }).isDisabled(), "the first step cannot move up");
    await page.getByRole("button", { name: "Move step 1 down" }).click();
    await until(async () => (await stepNames(page)).join() === "Step 1: thumbnail,Step 2: convert", "convert to move back to step 2");
    assert.ok(await page.getByRole("button", { name: "Move step 2 down" }).isDisabled(), "the last step cannot move down");
    // The field kept its value through the moves.
    assert.equal(await page.getByRole("listitem", { name: "Step 1: thumbnail" }).getByLabel("width", { exact: true }).inputValue(), "200");

    await page.getByRole("button", { name: "Remove step 2" }).click();
    await until(async () => (await stepNames(page)).join() === "Step 1: thumbnail", "the convert step to be removed");
    await page.getByLabel("Op", { exact: true }).selectOption("convert");
    await page.getByRole("button", { name: "Add step", exact: true }).click();
    await page.getByRole("listitem", { name: "Step 2: convert" }).getByLabel("format", { exact: true }).selectOption("webp");
    assert.deepEqual(await stepNames(page), ["Step 1: thumbnail", "Step 2: convert"]);

    const document = JSON.parse(await page.getByLabel("Pipeline document preview").textContent());
    assert.deepEqual(document.steps.map((s) => s.op), ["thumbnail", "convert"]);
    assert.equal(document.steps[0].width, 200, `the preview: ${JSON.stringify(document)}`);
    assert.equal(document.steps[1].format, "webp", `the preview: ${JSON.stringify(document)}`);
  });

  await step("save-version-1", async () => {
    await page.getByLabel("Name", { exact: true }).fill(name);
    await page.getByRole("button", { name: "Save pipeline", exact: true }).click();
    await page.waitForURL(new RegExp(`#/pipelines/${name}$`));
    await heading(page, `Pipeline ${name}`);
    await visible(page.getByText("Version 1 (latest) — in the builder", { exact: true }));
    // The saved document comes back into the builder.
    await visible(page.getByRole("heading", { name: "Step 2: convert" }));
    assert.equal(await page.getByRole("listitem", { name: "Step 1: thumbnail" }).getByLabel("width", { exact: true }).inputValue(), "200");
  });

  await step("save-version-2", async () => {
    await page.getByRole("listitem", { name: "Step 1: thumbnail" }).getByLabel("width", { exact: true }).fill("128");
    const saved = page.waitForResponse((r) => new URL(r.url()).pathname === `/v1/pipelines/${name}/versions` && r.request().method() === "POST");
    await page.getByRole("button", { name: "Save new version", exact: true }).click();
    assert.equal((await saved).status(), 201, "the second version is saved");
    await visible(page.getByText("Version 2 (latest) — in the builder", { exact: true }));
    await visible(page.getByText("Version 1", { exact: true }));
    await visible(page.getByRole("button", { name: "Load version 1" }));
    await visible(page.getByRole("button", { name: "Load version 2" }));
    await visible(page.getByRole("link", { name: `Run ${name}@1` }));
    await visible(page.getByRole("link", { name: `Run ${name}@2` }));
  });

  const token = await apiToken(email);
  let imageIds;
  await step("upload-two-photos", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Images" }).click();
    await heading(page, "My images");
    await page.getByLabel("Choose images").setInputFiles(PHOTOS);
    const uploads = page.getByRole("list", { name: "Uploads" });
    await visible(uploads.getByRole("listitem").filter({ hasText: "astronaut.jpg" }).getByText("Uploaded: 256×256 jpeg"));
    await visible(uploads.getByRole("listitem").filter({ hasText: "rocket.jpg" }).getByText("Uploaded: 640×427 jpeg"));
    const grid = page.getByRole("list", { name: "Your images" });
    await visible(grid.getByRole("link", { name: "astronaut.jpg" }));
    await visible(grid.getByRole("link", { name: "rocket.jpg" }));
    imageIds = (await apiGet(token, "/v1/images")).items.map((i) => i.id);
    assert.equal(imageIds.length, 2);
  });

  // Both workers busy from here on, so the job waits in the queue until they are let go;
  // and a second job of the user's, canceled while queued, for the state filter to tell apart.
  let canceledId;
  await step("hold-workers", async () => {
    await holdTheWorkers();
    const other = await apiJson(token, "POST", "/v1/jobs", { pipeline: `${name}@2`, images: [imageIds[0]] });
    canceledId = (await apiJson(token, "POST", `/v1/jobs/${other.id}/cancel`)).id;
    await jobUntil(token, canceledId, (job) => job.state === "canceled", "the user's other job to be canceled");
  });

  let jobId;
  await step("run-on-selected", async () => {
    await page.getByLabel("Select astronaut.jpg", { exact: true }).check();
    await page.getByLabel("Select rocket.jpg", { exact: true }).check();
    await visible(page.getByText("2 images selected", { exact: true }));
    await page.getByRole("button", { name: "Run a pipeline on selected" }).click();
    await heading(page, "Pipelines");
    assert.match(page.url(), /#\/pipelines\?images=/);
    await visible(page.getByText("2 images selected", { exact: true }));
    // The saved pipelines table lists it at its latest version.
    const saved = page.getByRole("row").filter({ has: page.getByRole("link", { name, exact: true }) });
    await visible(saved.getByText(`${name}@2`, { exact: true }));

    await page.getByLabel("Pipeline", { exact: true }).selectOption(name);
    const version = page.getByLabel("Version", { exact: true });
    await until(() => version.isEnabled(), "the versions to load");
    await version.selectOption("1");
    await visible(page.getByText("Steps: thumbnail → convert", { exact: true }));
    const submitted = page.waitForResponse((r) => new URL(r.url()).pathname === "/v1/jobs" && r.request().method() === "POST");
    await page.getByRole("button", { name: "Run", exact: true }).click();
    const response = await submitted;
    assert.equal(response.status(), 202, await response.text());
    const job = await response.json();
    jobId = job.id;
    assert.equal(job.pipeline, `${name}@1`);
    assert.deepEqual([...job.images].sort(), [...imageIds].sort(), "the job runs on the two selected images");

    await page.waitForURL(new RegExp(`#/jobs/${jobId}$`));
    await heading(page, `Job ${jobId.slice(0, 8)}`);
    const summary = page.getByRole("region", { name: "Summary" });
    await visible(summary.getByText("queued", { exact: true }));
    await visible(summary.getByRole("link", { name: `${name}@1` }));
    // Charged when queued: the grant less the run (the canceled job's charge came back).
    await until(async () => (await credits.textContent()) === `${grant - runCost} credits`, `the header to show ${grant} - ${runCost} credits`);
  });

  await step("jobs-list-live", async () => {
    let listLoads = 0;
    const countLoads = (request) => {
      if (request.method() === "GET" && new URL(request.url()).pathname === "/v1/jobs") listLoads += 1;
    };
    page.on("request", countLoads);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Jobs" }).click();
    await heading(page, "Jobs");
    const row = page.getByRole("row").filter({ has: page.getByRole("link", { name: jobId.slice(0, 8) }) });
    await visible(row.getByText("queued", { exact: true }));
    await visible(row.getByText(`${name}@1`, { exact: true }));
    await visible(page.getByRole("row").filter({ has: page.getByRole("link", { name: canceledId.slice(0, 8) }) }).getByText("canceled", { exact: true }));
    await page.evaluate(() => (window.e2eSamePage = true));

    await cancelBlockers();
    await visible(row.getByText("succeeded", { exact: true }), 30_000);
    await visible(row.getByText("2 / 2", { exact: true }));
    page.off("request", countLoads);
    assert.equal(await page.evaluate(() => window.e2eSamePage), true, "the page was not reloaded");
    assert.equal(listLoads, 1, "the list was loaded once: the state changed live");
  });

  await step("jobs-filter", async () => {
    const rows = page.getByRole("table").getByRole("row");
    assert.equal(await rows.count(), 3, "a header row and the user's two jobs");
    await page.getByLabel("State", { exact: true }).selectOption("succeeded");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await page.waitForURL(/#\/jobs\?state=succeeded$/);
    await visible(page.getByText("Jobs in state succeeded, newest first"));
    await visible(page.getByRole("link", { name: jobId.slice(0, 8) }));
    assert.equal(await page.getByRole("link", { name: canceledId.slice(0, 8) }).count(), 0, "the canceled job is filtered out");
    assert.equal(await rows.count(), 2);

    await page.getByLabel("State", { exact: true }).selectOption("canceled");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await page.waitForURL(/#\/jobs\?state=canceled$/);
    await visible(page.getByRole("link", { name: canceledId.slice(0, 8) }));
    assert.equal(await page.getByRole("link", { name: jobId.slice(0, 8) }).count(), 0, "the succeeded job is filtered out");

    await page.getByLabel("State", { exact: true }).selectOption("failed");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await page.waitForURL(/#\/jobs\?state=failed$/);
    await visible(page.getByText("No failed jobs."));
  });

  await step("job-outputs", async () => {
    await page.getByLabel("State", { exact: true }).selectOption("");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await page.waitForURL(/#\/jobs$/);
    await page.getByRole("link", { name: jobId.slice(0, 8) }).click();
    await heading(page, `Job ${jobId.slice(0, 8)}`);
    await visible(page.getByRole("region", { name: "Summary" }).getByText("succeeded", { exact: true }));
    await visible(page.getByText("2 of 2 items have finished."));
    // Version 1: a 200-pixel box, written as WebP.
    const expected = [
      ["Item 1", "Output of item 1", "webp · 200×200"],
      ["Item 2", "Output of item 2", "webp · 200×133"],
    ];
    for (const [title, alt, meta] of expected) {
      const item = page.getByRole("article", { name: title, exact: true });
      await visible(item.getByText("succeeded", { exact: true }));
      const output = item.getByRole("img", { name: alt, exact: true });
      await visible(output);
      await until(() => output.evaluate((img) => img.complete && img.naturalWidth > 0), `${alt} to decode`);
      await soft(() => visible(item.getByText(meta, { exact: false })));
      await visible(item.getByLabel("Before / after"));
    }
  });

  await step("before-after", async () => {
    const item = page.getByRole("article", { name: "Item 1", exact: true });
    const slider = item.getByLabel("Before / after");
    const clip = () => item.locator(".after-clip").evaluate((el) => el.style.clipPath);
    assert.equal(await slider.inputValue(), "50");
    const start = await clip();
    assert.match(start, /50%/, `the clip starts half way: ${start}`);
    await slider.focus();
    await page.keyboard.press("Home");
    await until(async () => /100%/.test(await clip()), "the clip to hide the whole output (slider at 0)");
    assert.equal(await slider.getAttribute("aria-valuetext"), "0% after");
    await slider.fill("75");
    await until(async () => /25%/.test(await clip()), "the clip to follow the slider to 75");
    assert.equal(await slider.getAttribute("aria-valuetext"), "75% after");
    assert.notEqual(await clip(), start);
  });

  await step("download-zip", async () => {
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download all (zip)" }).click()]);
    assert.equal(download.suggestedFilename(), `job-${jobId}.zip`);
    const file = path.join(scratch, "job.zip");
    await download.saveAs(file);
    const bytes = readFileSync(file);
    assert.ok(bytes.length > 100, `the zip has ${bytes.length} bytes`);
    assert.equal(bytes.subarray(0, 2).toString("latin1"), "PK", "the download is a zip");
  });

  assertClean();
});

test("a large image goes through the chunked upload, with its progress shown, and appears in the grid", async () => {
  const { page, step, assertClean } = await session(browser, "chunked");
  const file = path.join(scratch, `noise-${Date.now().toString(36)}.png`);
  const bytes = noisePng(1800, 1800);
  assert.ok(bytes.length > 8 * 1024 * 1024, `the PNG is over 8 MiB (${bytes.length} bytes)`);
  writeFileSync(file, bytes);
  const name = path.basename(file);
  const requests = [];
  page.on("request", (request) => {
    const { pathname, search } = new URL(request.url());
    if (pathname.startsWith("/v1/uploads") || pathname === "/v1/images") requests.push(`${request.method()} ${pathname}${search}`);
  });

  await step("register", () => register(page, freshEmail("chunked")));

  await step("upload", async () => {
    await heading(page, "My images");
    // Every status line and progress value the upload's row shows, as it shows them.
    await page.evaluate(() => {
      window.e2eSeen = [];
      const list = document.querySelector('[aria-label="Uploads"]');
      new MutationObserver(() => {
        for (const row of list.querySelectorAll("li")) {
          const bar = row.querySelector("progress");
          const status = row.querySelector(":scope > span");
          window.e2eSeen.push({ value: bar ? Number(bar.value) : null, status: status?.textContent || "" });
        }
      }).observe(list, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await page.getByLabel("Choose images").setInputFiles(file);
    const row = page.getByRole("list", { name: "Uploads" }).getByRole("listitem").filter({ hasText: name });
    await visible(row.getByText("Uploaded: 1800×1800 png", { exact: true }), 60_000);
    assert.equal(await row.getByRole("progressbar", { name: `Upload progress for ${name}` }).evaluate((bar) => bar.value), 100);
    const seen = await page.evaluate(() => window.e2eSeen);
    const statuses = [...new Set(seen.map((s) => s.status))];
    assert.ok(statuses.includes("Uploading part 1 of 2"), `statuses shown: ${statuses.join(" | ")}`);
    assert.ok(statuses.includes("Uploading part 2 of 2"), `statuses shown: ${statuses.join(" | ")}`);
    const values = seen.map((s) => s.value);
    assert.ok(values.some((v) => v > 0 && v < 100), `progress values shown: ${[...new Set(values)].join(", ")}`);
  });

  await step("in-grid", async () => {
    const link = page.getByRole("list", { name: "Your images" }).getByRole("link", { name, exact: true });
    await visible(link);
    await visible(page.getByRole("list", { name: "Your images" }).getByText(/1800×1800 · 9\.\d MB · png/));
    // The resumable upload API carried it: a session, two parts, completion; no one-shot POST.
    const posts = requests.filter((r) => r === "POST /v1/uploads");
    const parts = requests.filter((r) => /^PUT \/v1\/uploads\/[^/?]+\?offset=\d+$/.test(r));
    const completes = requests.filter((r) => /^POST \/v1\/uploads\/[^/?]+\/complete$/.test(r));
    assert.equal(posts.length, 1, `requests: ${requests.join(", ")}`);
    assert.equal(parts.length, 2, `requests: ${requests.join(", ")}`);
    assert.equal(completes.length, 1, `requests: ${requests.join(", ")}`);
    assert.ok(!requests.includes("POST /v1/images"), `no one-shot upload: ${requests.join(", ")}`);
    // The image page opens it.
    await link.click();
    await visible(page.getByRole("cell", { name: "1800 × 1800 px" }), UI_MS);
  });

  assertClean();
});
