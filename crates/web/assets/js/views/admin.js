// The admin page (#/admin, admins only): queue and worker health, users (credits, role,
// disabling, quotas), invite codes, and every user's jobs with their details inline.

import * as api from "../api.js";
import { h, mount, fillError, field, busy, toast, formatBytes, formatTime, stateBadge } from "../ui.js";
import { STATES, shortId, formatDuration, pipelineLabel } from "./jobs.js";
import { copyText } from "./account.js";

const MIB = 1024 * 1024;
const th = (text) => h("th", { scope: "col" }, text);
const tr = (...cells) => h("tr", {}, cells.map((cell) => (cell instanceof HTMLTableCellElement ? cell : h("td", {}, cell))));

/** A captioned table in a wrapper that scrolls sideways on a phone. */
function table(caption, headings, body, attrs = {}) {
  const head = h("thead", {}, h("tr", {}, headings.map(th)));
  return h("div", { class: "table-wrap" }, h("table", attrs, h("caption", { class: "muted adm-caption" }, caption), head, body));
}
const alertBox = () => h("div", { class: "error", role: "alert", hidden: true });

/** "12 s", "5 min", "3 h 4 min": how long `ms` milliseconds is, roughly. */
function span(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** Loads pages with a "Load more" button: `fetchPage(cursor)` → `{items, next_cursor}`. */
function pager(label, fetchPage, onItems, box) {
  const more = h("button", { type: "button", hidden: true }, label);
  let cursor = null;
  async function load(reset) {
    if (reset) cursor = null;
    const page = await fetchPage(cursor);
    onItems(page.items || [], reset);
    cursor = page.next_cursor || null;
    more.hidden = !cursor;
  }
  more.addEventListener("click", () => busy(more, box, () => load(false)));
  return { more, load };
}

export async function render(main) {
  const controller = new AbortController();
  const { signal } = controller;
  const get = (path) => api.get(path, { signal });
  const shown = (box) => (err) => {
    if (err.name !== "AbortError") fillError(box, err);
  };

  // ---- Workers and queue health --------------------------------------------------------
  const healthBox = alertBox();
  const healthBody = h("div", { class: "adm-health" });
  const readAt = h("p", { class: "muted", role: "status" });
  const refresh = h("button", { type: "button" }, "Refresh");
  async function loadHealth() {
    // `/readyz` answers 503 with the reason when the database or blob store is down.
    const [queue, down] = await Promise.all([
      get("/v1/admin/queue"),
      api.get("/readyz", { signal }).then(
        () => null,
        (err) => (err.name === "AbortError" ? Promise.reject(err) : err),
      ),
    ]);
    const byState = h("tbody", {}, STATES.map((s) => tr(stateBadge(s), String(queue.jobs?.[s] ?? 0))));
    const counts = table("Jobs by state", ["State", "Jobs"], byState, { class: "adm-counts" });
    const oldest = queue.oldest_queued_at
      ? `The oldest queued job has waited ${span(queue.oldest_queued_age_ms)} (since ${formatTime(queue.oldest_queued_at)}).`
      : "Nothing is queued.";
    const live = (queue.workers || []).filter((w) => w.status === "live").length;
    const workerRows = (queue.workers || []).map((w) =>
      tr(
        h("code", {}, w.id),
        w.hostname,
        String(w.pid),
        h("span", { class: `badge adm-worker-${w.status}` }, w.status),
        h("td", { title: formatTime(w.heartbeat_at) }, `${span(queue.now - w.heartbeat_at)} ago`),
        formatTime(w.started_at),
        String(w.jobs_done),
      ),
    );
    const workers = workerRows.length
      ? table(
          "Workers heard from in the last day, most recent first",
          ["Worker", "Host", "PID", "Status", "Last heard", "Started", "Jobs done"],
          h("tbody", {}, workerRows),
        )
      : null;
    mount(
      healthBody,
      h(
        "ul",
        { class: "adm-summary" },
        h("li", {}, down ? ["Not ready: ", h("strong", { class: "adm-bad" }, down.message)] : "Database and blob store: ready."),
        h("li", {}, oldest),
        h("li", { class: live ? false : "adm-bad" }, `${live} live worker${live === 1 ? "" : "s"}${live ? "." : ": queued jobs wait."}`),
        h("li", {}, `A worker silent for over ${span(queue.stale_after_ms)} reads as stale (most likely dead).`),
      ),
      counts,
      workers,
    );
    readAt.textContent = `Read at ${new Date(queue.now).toLocaleTimeString()}.`;
  }
  refresh.addEventListener("click", async () => {
    refresh.disabled = true;
    fillError(healthBox, null);
    try {
      await loadHealth();
      toast("Queue health refreshed");
    } catch (err) {
      shown(healthBox)(err);
    } finally {
      refresh.disabled = false;
    }
  });
  const health = h(
    "section",
    { "aria-labelledby": "adm-health" },
    h("div", { class: "row spread" }, h("h2", { id: "adm-health" }, "Workers and queue health"), refresh),
    healthBox,
    healthBody,
    readAt,
  );

  // ---- Users ---------------------------------------------------------------------------
  const usersBox = alertBox();
  const userRows = h("tbody");
  const users = pager(
    "Load more users",
    (cursor) => get(`/v1/admin/users${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`),
    (items) => items.forEach((user) => userRows.append(...userRow(user))),
    usersBox,
  );

  const quota = (value, show) => (value === null || value === undefined ? "No limit" : show(value));

  // A user's row, and the row under it holding their forms (shown by "Manage").
  function userRow(initial) {
    let user = initial;
    const cells = {
      role: h("td", {}),
      disabled: h("td", {}),
      balance: h("td", {}),
      bytes: h("td", {}),
      jobs: h("td", {}),
    };
    const paint = () => {
      cells.role.textContent = user.role;
      cells.disabled.textContent = user.disabled ? "Yes" : "No";
      cells.balance.textContent = user.balance ?? "—";
      cells.bytes.textContent = quota(user.quotas?.bytes, formatBytes);
      cells.jobs.textContent = quota(user.quotas?.jobs, String);
    };
    paint();
    const panelId = `adm-user-${user.id}`;
    const manage = h(
      "button",
      { type: "button", "aria-expanded": "false", "aria-controls": panelId, "aria-label": `Manage ${user.email}` },
      "Manage",
    );
    const panelCell = h("td", { colspan: 7 });
    const panelRow = h("tr", { id: panelId, class: "adm-panel", hidden: true }, panelCell);
    manage.addEventListener("click", () => {
      const open = panelRow.hidden;
      if (open && !panelCell.firstChild) mount(panelCell, userPanel(() => user, (next) => ((user = next), paint())));
      panelRow.hidden = !open;
      manage.setAttribute("aria-expanded", String(open));
      if (open) panelCell.querySelector("input, select, button")?.focus();
    });
    const { role, disabled, balance, bytes, jobs } = cells;
    const row = tr(user.email, role, disabled, balance, bytes, jobs, manage);
    return [row, panelRow];
  }

  function userPanel(current, changed) {
    const user = current();
    const me = api.currentUser();
    const box = alertBox();
    const patch = (body) => api.request("PATCH", `/v1/admin/users/${encodeURIComponent(user.id)}`, { json: body, signal });

    // Credits: one positive amount, granted or taken.
    const amount = h("input", { type: "number", name: "amount", min: 1, step: 1, required: true, inputmode: "numeric" });
    const note = h("input", { type: "text", name: "note", maxlength: 200, autocomplete: "off" });
    const creditForm = h(
      "form",
      { class: "adm-form", "aria-label": `Credits of ${user.email}` },
      h("h3", {}, "Credits"),
      field("Amount", amount),
      field("Reason (optional)", note, "Kept in the ledger."),
      h(
        "div",
        { class: "row" },
        h("button", { type: "submit", value: "grant", class: "primary" }, "Grant credits"),
        h("button", { type: "submit", value: "take" }, "Take credits"),
      ),
    );
    creditForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const take = event.submitter?.value === "take";
      const n = Number(amount.value);
      const body = { amount: take ? -n : n };
      if (note.value.trim()) body.note = note.value.trim();
      const path = `/v1/admin/users/${encodeURIComponent(user.id)}/credits`;
      const answer = await busy(creditForm, box, () => api.post(path, body, { signal }));
      if (!answer) return;
      changed({ ...current(), balance: answer.balance });
      amount.value = note.value = "";
      toast(`${take ? "Took" : "Granted"} ${n} credits: ${user.email} now has ${answer.balance}`);
      if (me?.id === user.id) api.reloadUser().catch(() => {});
    });

    // Role and disabling.
    const role = h("select", { name: "role" }, h("option", { value: "user" }, "user"), h("option", { value: "admin" }, "admin"));
    role.value = user.role;
    const disable = h("button", { type: "button", class: "danger" });
    const label = () => (disable.textContent = current().disabled ? "Enable account" : "Disable account");
    label();
    const accountForm = h(
      "form",
      { class: "adm-form", "aria-label": `Account of ${user.email}` },
      h("h3", {}, "Account"),
      field("Role", role),
      h("div", { class: "row" }, h("button", { type: "submit" }, "Change role"), disable),
      h("p", { class: "hint" }, "Disabling signs the account out everywhere and refuses its keys."),
    );
    accountForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const next = await busy(accountForm, box, () => patch({ role: role.value }));
      if (!next) return;
      changed(next);
      toast(`${user.email} is now ${next.role === "admin" ? "an admin" : "a user"}`);
    });
    disable.addEventListener("click", async () => {
      const want = !current().disabled;
      const next = await busy(accountForm, box, () => patch({ disabled: want }));
      if (!next) return;
      changed(next);
      label();
      toast(`${user.email} ${next.disabled ? "disabled" : "enabled"}`);
    });

    // Quotas: both at once, as the API takes them; empty means the server's default.
    const bytes = h("input", { type: "number", name: "bytes", min: 0, step: "any", inputmode: "decimal" });
    const jobs = h("input", { type: "number", name: "jobs", min: 0, step: 1, inputmode: "numeric" });
    const fillQuotas = () => {
      const q = current().quotas || {};
      bytes.value = q.bytes === null || q.bytes === undefined ? "" : String(Math.round((q.bytes / MIB) * 100) / 100);
      jobs.value = q.jobs === null || q.jobs === undefined ? "" : String(q.jobs);
    };
    fillQuotas();
    const quotaForm = h(
      "form",
      { class: "adm-form", "aria-label": `Quotas of ${user.email}` },
      h("h3", {}, "Quotas"),
      field("Storage quota (MiB)", bytes, "Empty: the server's default."),
      field("Jobs at once", jobs, "Empty: the server's default."),
      h("button", { type: "submit" }, "Save quotas"),
    );
    quotaForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const quotas = {
        bytes: bytes.value === "" ? null : Math.round(Number(bytes.value) * MIB),
        jobs: jobs.value === "" ? null : Number(jobs.value),
      };
      const next = await busy(quotaForm, box, () => patch({ quotas }));
      if (!next) return;
      changed(next);
      fillQuotas();
      toast(`Quotas of ${user.email} saved`);
    });

    const forms = h("div", { class: "adm-forms" }, creditForm, accountForm, quotaForm);
    return h("div", { role: "region", "aria-label": `Manage ${user.email}`, class: "adm-manage" }, box, forms);
  }

  const usersSection = h(
    "section",
    { "aria-labelledby": "adm-users" },
    h("h2", { id: "adm-users" }, "Users"),
    usersBox,
    table("Every account, by email", ["Email", "Role", "Disabled", "Balance", "Storage quota", "Jobs at once", "Actions"], userRows),
    h("div", { class: "row" }, users.more),
  );

  // ---- Invites -------------------------------------------------------------------------
  const hours = h("input", { type: "number", name: "hours", min: 1, max: 720, step: 1, value: "72", required: true });
  const inviteBox = alertBox();
  const inviteSlot = h("div", {});
  const inviteForm = h(
    "form",
    { class: "card narrow", "aria-labelledby": "adm-invites" },
    h("h2", { id: "adm-invites" }, "Invites"),
    h("p", { class: "muted" }, "A single-use code for registering when sign-up is by invitation."),
    field("Valid for (hours)", hours, "1 to 720."),
    inviteBox,
    inviteSlot,
    h("button", { type: "submit", class: "primary" }, "Create invite"),
  );
  inviteForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { expires_in_hours: Number(hours.value) };
    const invite = await busy(inviteForm, inviteBox, () => api.post("/v1/admin/invites", body, { signal }));
    if (!invite) return;
    const code = h("input", { type: "text", readonly: true, value: invite.code, autocomplete: "off", spellcheck: "false" });
    const copy = h("button", { type: "button" }, "Copy code");
    copy.addEventListener("click", () => copyText(code));
    mount(
      inviteSlot,
      h(
        "div",
        { class: "adm-invite" },
        h(
          "p",
          {},
          h("strong", {}, "Give this code to the person invited: it will not be shown again. "),
          `It works once, until ${formatTime(invite.expires_at)}, at `,
          h("code", {}, `${location.origin}/#/register`),
          ".",
        ),
        field("Invite code", code),
        h("div", { class: "row" }, copy),
      ),
    );
    code.focus();
    code.select();
    toast("Invite created");
  });

  // ---- Jobs ----------------------------------------------------------------------------
  const jobsBox = alertBox();
  const jobRows = h("tbody");
  const noJobs = h("p", { class: "muted", hidden: true }, "No jobs.");
  const stateSelect = h(
    "select",
    { name: "state" },
    h("option", { value: "" }, "Any state"),
    STATES.map((s) => h("option", { value: s }, s)),
  );
  const jobs = pager(
    "Load more jobs",
    (cursor) => {
      const params = new URLSearchParams();
      if (stateSelect.value) params.set("state", stateSelect.value);
      if (cursor) params.set("cursor", cursor);
      const qs = params.toString();
      return get(`/v1/admin/jobs${qs ? `?${qs}` : ""}`);
    },
    (items, reset) => {
      if (reset) jobRows.replaceChildren();
      items.forEach((job) => jobRows.append(...jobRow(job)));
      noJobs.hidden = jobRows.children.length > 0;
    },
    jobsBox,
  );
  const filter = h(
    "form",
    { class: "row adm-filter", role: "search", "aria-label": "Filter all jobs" },
    field("State", stateSelect),
    h("button", { type: "submit" }, "Show jobs"),
  );
  filter.addEventListener("submit", async (event) => {
    event.preventDefault();
    await busy(filter, jobsBox, () => jobs.load(true));
  });

  // `GET /v1/jobs/{id}` shows a caller their own jobs only, so another user's job is shown
  // here, from the listing, rather than linked.
  function jobRow(job) {
    const detailsId = `adm-job-${job.id}`;
    const toggle = h(
      "button",
      { type: "button", "aria-expanded": "false", "aria-controls": detailsId, "aria-label": `Details of job ${shortId(job.id)}` },
      "Details",
    );
    const detailsRow = h("tr", { id: detailsId, class: "adm-panel", hidden: true }, h("td", { colspan: 7 }, jobDetails(job)));
    toggle.addEventListener("click", () => {
      detailsRow.hidden = !detailsRow.hidden;
      toggle.setAttribute("aria-expanded", String(!detailsRow.hidden));
    });
    const progress = `${job.progress?.done ?? 0} / ${job.progress?.total ?? 0}`;
    const code = h("code", { title: job.id }, shortId(job.id));
    const row = tr(code, pipelineLabel(job), stateBadge(job.state), progress, formatTime(job.created_at), formatDuration(job), toggle);
    return [row, detailsRow];
  }

  function jobDetails(job) {
    const results = Array.isArray(job.results) ? job.results : Array.isArray(job.results?.items) ? job.results.items : [];
    const tally = (status) => results.filter((r) => r && r.status === status).length;
    const [ok, bad] = [tally("succeeded"), tally("failed")];
    const items = results.length
      ? `${ok} succeeded, ${bad} failed, ${results.length - ok - bad} pending`
      : String(job.progress?.total ?? 0);
    const facts = [
      ["Id", h("code", {}, job.id)],
      ["Kind", job.dataset ? ["dataset ", h("code", {}, job.dataset)] : job.kind || "pipeline"],
      ["Attempts", `${job.attempts} of ${job.max_attempts}`],
      ["Started", formatTime(job.started_at) || "Not yet"],
      ["Finished", formatTime(job.finished_at) || "Not yet"],
      ["Cancel requested", job.cancel_requested ? "Yes" : "No"],
      ["Items", items],
      ["Error", job.error || "None"],
    ];
    const failed = (r, i) => h("li", {}, `Item ${i + 1}: ${r.message || ""} `, r.code ? h("code", {}, r.code) : null);
    const failures = results.map((r, i) => (r?.status === "failed" ? failed(r, i) : null)).filter(Boolean);
    return h(
      "div",
      { class: "adm-job" },
      h("dl", { class: "adm-facts" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
      failures.length ? h("ul", { class: "adm-failures" }, failures) : null,
    );
  }

  const jobsSection = h(
    "section",
    { "aria-labelledby": "adm-jobs" },
    h("h2", { id: "adm-jobs" }, "Jobs"),
    filter,
    jobsBox,
    noJobs,
    table("Every user's jobs, newest first", ["Job", "Pipeline", "State", "Progress", "Created", "Duration", "Details"], jobRows),
    h("div", { class: "row" }, jobs.more),
  );

  mount(main, h("h1", {}, "Admin"), health, usersSection, inviteForm, jobsSection);
  await Promise.all([
    loadHealth().catch(shown(healthBox)),
    users.load(true).catch(shown(usersBox)),
    jobs.load(true).catch(shown(jobsBox)),
  ]);

  return () => controller.abort();
}
