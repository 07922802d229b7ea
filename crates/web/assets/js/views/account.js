// The account page (#/account): profile and quotas, the credit balance with its ledger, API
// keys (create with the secret shown once, revoke after a confirmation) and the password.

import * as api from "../api.js";
import { h, mount, fillError, field, busy, toast, formatBytes, formatTime } from "../ui.js";

const th = (text) => h("th", { scope: "col" }, text);

const SCOPES = [
  ["read", "list and download"],
  ["write", "upload and run jobs (includes read)"],
  ["admin", "the admin routes"],
];

export async function render(main, { navigate }) {
  const controller = new AbortController();
  const { signal } = controller;
  // Through reloadUser, so the header's balance is as fresh as the page's.
  const me = await api.reloadUser();
  const isAdmin = me.role === "admin";
  // The one place a new key's secret lives; emptied when it is dismissed or the page goes.
  let secretPanel = null;

  // ---- Profile -------------------------------------------------------------------------
  const limit = (value, show) => (value === null || value === undefined ? "No limit" : show(value));
  const facts = [
    ["Email", me.email],
    ["Role", me.role],
    ["Status", me.disabled ? "Disabled" : "Active"],
    ["Member since", formatTime(me.created_at)],
    ["Storage quota", limit(me.quotas?.bytes, formatBytes)],
    ["Jobs at once", limit(me.quotas?.jobs, String)],
  ];
  if (me.balance !== undefined && me.balance !== null) facts.push(["Credits", String(me.balance)]);
  const profile = h(
    "section",
    { class: "card", "aria-labelledby": "acct-profile" },
    h("h2", { id: "acct-profile" }, "Profile"),
    h("dl", { class: "acct-facts" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
  );

  // ---- Credits -------------------------------------------------------------------------
  const creditBox = h("div", { class: "error", role: "alert", hidden: true });
  const balance = h("p", { class: "acct-balance" });
  const ledger = h("tbody");
  const ledgerWrap = h(
    "div",
    { class: "table-wrap", hidden: true },
    h(
      "table",
      {},
      h("caption", { class: "muted acct-caption" }, "Credit history, newest first"),
      h("thead", {}, h("tr", {}, ["When", "Change", "Kind", "Job", "Note", "Balance after"].map(th))),
      ledger,
    ),
  );
  const noHistory = h("p", { class: "muted", hidden: true }, "No credit changes yet.");
  const moreCredits = h("button", { type: "button", hidden: true }, "Load more history");
  let creditCursor = null;
  async function loadCredits() {
    const qs = creditCursor ? `?cursor=${encodeURIComponent(creditCursor)}` : "";
    const page = await api.get(`/v1/me/credits${qs}`, { signal });
    mount(balance, "Balance: ", h("strong", {}, `${page.balance} credits`));
    if (!page.enabled) balance.append(h("span", { class: "muted" }, " (this server does not charge credits)"));
    for (const entry of page.items || []) {
      const job = entry.job_id
        ? h("a", { href: `#/jobs/${encodeURIComponent(entry.job_id)}`, title: entry.job_id }, h("code", {}, entry.job_id.slice(0, 8)))
        : "";
      ledger.append(
        h(
          "tr",
          {},
          h("td", {}, formatTime(entry.created_at)),
          h("td", {}, entry.amount > 0 ? `+${entry.amount}` : String(entry.amount)),
          h("td", {}, entry.kind),
          h("td", {}, job),
          h("td", {}, entry.note || ""),
          h("td", {}, String(entry.balance_after)),
        ),
      );
    }
    creditCursor = page.next_cursor || null;
    moreCredits.hidden = !creditCursor;
    ledgerWrap.hidden = ledger.children.length === 0;
    noHistory.hidden = ledger.children.length > 0;
  }
  moreCredits.addEventListener("click", () => busy(moreCredits, creditBox, loadCredits));
  const credits = h(
    "section",
    { "aria-labelledby": "acct-credits" },
    h("h2", { id: "acct-credits" }, "Credits"),
    balance,
    creditBox,
    noHistory,
    ledgerWrap,
    h("div", { class: "row" }, moreCredits),
  );

  // ---- API keys ------------------------------------------------------------------------
  const keyBox = h("div", { class: "error", role: "alert", hidden: true });
  const keyRows = h("tbody");
  const keyWrap = h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", { class: "muted acct-caption" }, "Your API keys, newest first"),
      h("thead", {}, h("tr", {}, ["Name", "Key", "Scopes", "Created", "Last used", "Expires", "Status", "Actions"].map(th))),
      keyRows,
    ),
  );
  const noKeys = h("p", { class: "muted", hidden: true }, "No API keys yet.");

  function keyStatus(key) {
    if (key.revoked_at) return `Revoked ${formatTime(key.revoked_at)}`;
    if (key.expires_at && key.expires_at <= Date.now()) return "Expired";
    return "Active";
  }

  function keyRow(key) {
    const actions = h("td", {});
    const tr = h(
      "tr",
      { "data-key": key.id },
      h("td", {}, key.name),
      h("td", {}, h("code", {}, `atl_${key.prefix}_…`)),
      h("td", {}, (key.scopes || []).join(", ")),
      h("td", {}, formatTime(key.created_at)),
      h("td", {}, key.last_used_at ? formatTime(key.last_used_at) : "Never"),
      h("td", {}, key.expires_at ? formatTime(key.expires_at) : "Never"),
      h("td", {}, keyStatus(key)),
      actions,
    );
    if (!key.revoked_at) showRevoke(key, actions);
    return tr;
  }

  // Revoking asks first, in place: "Revoke" → "Yes, revoke" / "Keep it".
  function showRevoke(key, cell) {
    const revoke = h("button", { type: "button", class: "danger", "aria-label": `Revoke key ${key.name}` }, "Revoke");
    revoke.addEventListener("click", () => {
      const yes = h("button", { type: "button", class: "danger" }, "Yes, revoke");
      const no = h("button", { type: "button" }, "Keep it");
      const ask = h("span", {}, "Revoke? Programs using it stop working.");
      mount(cell, h("div", { class: "row", role: "group", "aria-label": `Revoke key ${key.name}?` }, ask, yes, no));
      no.addEventListener("click", () => {
        showRevoke(key, cell);
        cell.querySelector("button")?.focus();
      });
      yes.addEventListener("click", async () => {
        yes.disabled = no.disabled = true;
        fillError(keyBox, null);
        try {
          await api.del(`/v1/me/keys/${encodeURIComponent(key.id)}`, { signal });
          toast(`Key “${key.name}” revoked`);
          await loadKeys();
        } catch (err) {
          if (err.name === "AbortError") return;
          fillError(keyBox, err);
          yes.disabled = no.disabled = false;
        }
      });
      yes.focus();
    });
    mount(cell, revoke);
  }

  async function loadKeys() {
    const list = await api.get("/v1/me/keys", { signal });
    mount(keyRows, (list.items || []).map(keyRow));
    keyWrap.hidden = keyRows.children.length === 0;
    noKeys.hidden = keyRows.children.length > 0;
  }

  const keyName = h("input", { type: "text", name: "key-name", required: true, maxlength: 100, autocomplete: "off" });
  const scopeBoxes = SCOPES.filter(([scope]) => scope !== "admin" || isAdmin).map(([scope, text]) => {
    const id = `acct-scope-${scope}`;
    const box = h("input", { type: "checkbox", name: "scopes", value: scope, id, checked: scope === "read" });
    const about = h("span", { class: "muted", id: `${id}-about` }, text);
    box.setAttribute("aria-describedby", about.id);
    return { scope, box, el: h("div", { class: "acct-check" }, box, h("label", { for: id }, scope), about) };
  });
  const expires = h("input", { type: "date", name: "expires" });
  const createBox = h("div", { class: "error", role: "alert", hidden: true });
  const secretSlot = h("div", {});
  const createForm = h(
    "form",
    { class: "card narrow", "aria-labelledby": "acct-newkey" },
    h("h3", { id: "acct-newkey" }, "Create a key"),
    field("Key name", keyName, "What the key is for, e.g. “backup script”."),
    h("fieldset", { class: "acct-scopes" }, h("legend", {}, "Scopes"), scopeBoxes.map((s) => s.el)),
    field("Expires on (optional)", expires, "Leave empty for a key that does not expire."),
    createBox,
    h("button", { type: "submit", class: "primary" }, "Create key"),
  );
  createForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const scopes = scopeBoxes.filter((s) => s.box.checked).map((s) => s.scope);
    const body = { name: keyName.value.trim(), scopes };
    if (expires.value) {
      // The end of the chosen day, in the person's own time zone.
      const [y, m, d] = expires.value.split("-").map(Number);
      body.expires_at = new Date(y, m - 1, d, 23, 59, 59, 999).getTime();
    }
    const created = await busy(createForm, createBox, () => api.post("/v1/me/keys", body, { signal }));
    if (!created) return;
    keyName.value = "";
    expires.value = "";
    showSecret(created);
    toast(`Key “${created.name}” created; copy its secret now`);
    try {
      await loadKeys();
    } catch (err) {
      if (err.name !== "AbortError") fillError(keyBox, err);
    }
  });

  function dropSecret() {
    if (!secretPanel) return;
    secretPanel.input.value = "";
    secretPanel.el.remove();
    secretPanel = null;
  }

  function showSecret(created) {
    dropSecret();
    const input = h("input", {
      type: "text",
      readonly: true,
      value: created.secret,
      class: "acct-secret",
      autocomplete: "off",
      spellcheck: "false",
    });
    const copy = h("button", { type: "button" }, "Copy");
    const done = h("button", { type: "button" }, "I have saved it");
    copy.addEventListener("click", () => copyText(input));
    done.addEventListener("click", () => {
      dropSecret();
      keyName.focus();
    });
    const el = h(
      "div",
      { class: "card acct-new-secret", role: "region", "aria-labelledby": "acct-secret-title" },
      h("h3", { id: "acct-secret-title" }, `New key “${created.name}”`),
      h(
        "p",
        { class: "acct-warning" },
        h("strong", {}, "Copy this secret now: it will not be shown again. "),
        "Send it as ",
        h("code", {}, "Authorization: Bearer <secret>"),
        ".",
      ),
      field("Secret", input),
      h("div", { class: "row" }, copy, done),
    );
    secretPanel = { el, input };
    mount(secretSlot, el);
    input.focus();
    input.select();
  }

  const keys = h(
    "section",
    { "aria-labelledby": "acct-keys" },
    h("h2", { id: "acct-keys" }, "API keys"),
    keyBox,
    noKeys,
    keyWrap,
    secretSlot,
    createForm,
  );

  // ---- Password ------------------------------------------------------------------------
  const current = h("input", { type: "password", name: "current", autocomplete: "current-password", required: true });
  const next = h("input", { type: "password", name: "new", autocomplete: "new-password", required: true, minlength: 10 });
  const passwordBox = h("div", { class: "error", role: "alert", hidden: true });
  const passwordForm = h(
    "form",
    { class: "card narrow", "aria-labelledby": "acct-password" },
    h("h2", { id: "acct-password" }, "Change password"),
    h("p", { class: "muted" }, "Afterwards every session is signed out, this one too: you log in again with the new password."),
    field("Current password", current),
    field("New password", next, "At least 10 characters; not a common password."),
    passwordBox,
    h("button", { type: "submit", class: "primary" }, "Change password"),
  );
  passwordForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { current_password: current.value, new_password: next.value };
    const ok = await busy(passwordForm, passwordBox, async () => {
      await api.post("/v1/me/password", body, { signal });
      return true;
    });
    if (!ok) return;
    current.value = next.value = "";
    // The server retired every token of this account: this session is over too.
    await api.logout().catch(() => {});
    toast("Password changed. Log in again with your new password.");
    navigate("/login");
  });

  mount(main, h("h1", {}, "Account"), profile, credits, keys, passwordForm);

  const shown = (box) => (err) => {
    if (err.name !== "AbortError") fillError(box, err);
  };
  await Promise.all([loadCredits().catch(shown(creditBox)), loadKeys().catch(shown(keyBox))]);

  return () => {
    controller.abort();
    dropSecret();
  };
}

/** Copies a read-only field's text: the Clipboard API where allowed, else the old way. */
export async function copyText(input) {
  input.focus();
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
    toast("Copied to the clipboard");
    return;
  } catch {
    /* no Clipboard API here (plain HTTP, or refused): fall back */
  }
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  toast(copied ? "Copied to the clipboard" : "Could not copy: the text is selected, press Ctrl+C (⌘C) to copy it");
}

