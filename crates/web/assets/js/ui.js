// DOM helpers shared by every view. Text always goes in as text nodes, never as markup, so
// nothing from the API or a file name can become markup.

/**
 * Builds an element: `h("button", { type: "button", onclick: f }, "Save")`.
 * Attributes starting with `on` become listeners; `class`, `for`, `aria-*`, `data-*` and
 * the rest are set as attributes; `false`/`null` leave an attribute out. Children may be
 * strings, nodes, arrays of them, or null.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "value" || name === "checked" || name === "selected" || name === "disabled") {
      el[name] = value;
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces everything inside `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** An error as the API worded it, for an alert region: message, then the stable code. */
export function errorBox(err) {
  const box = h("div", { class: "error", role: "alert" });
  fillError(box, err);
  return box;
}

/** Fills an existing alert region with `err`, or empties and hides it when `err` is null. */
export function fillError(box, err) {
  if (!err) {
    box.replaceChildren();
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const parts = [h("strong", {}, err.message || String(err))];
  if (err.code) parts.push(" ", h("code", { class: "code" }, err.code));
  if (err.body?.needed !== undefined) {
    parts.push(h("div", {}, `This needs ${err.body.needed} credits; you have ${err.body.available}.`));
  }
  mount(box, ...parts);
}

let toastTimer = null;
/** A short polite announcement at the top of the page. */
export function toast(message) {
  const el = document.getElementById("status");
  el.textContent = message;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 4000);
}

export function formatBytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** Milliseconds since the epoch (what the API gives) as a local date and time. */
export function formatTime(ms) {
  if (!ms) return "";
  return new Date(ms).toLocaleString();
}

/** A labelled form field: `field("Email", h("input", {...}))`, the label tied by id. */
let fieldCount = 0;
export function field(label, input, hint) {
  fieldCount += 1;
  const id = input.id || `f${fieldCount}`;
  input.id = id;
  const parts = [h("label", { for: id }, label), input];
  if (hint) {
    const hintId = `${id}-hint`;
    input.setAttribute("aria-describedby", hintId);
    parts.push(h("small", { id: hintId, class: "hint" }, hint));
  }
  return h("div", { class: "field" }, parts);
}

/** Disables a form's controls (or one control: a "Load more" button) while `work` runs; errors go to `box`. */
export async function busy(form, box, work) {
  const control = "button, input, select, textarea";
  const controls = form.matches(control) ? [form] : [...form.querySelectorAll(control)];
  const was = controls.map((c) => c.disabled);
  controls.forEach((c) => (c.disabled = true));
  form.setAttribute("aria-busy", "true");
  fillError(box, null);
  try {
    return await work();
  } catch (err) {
    if (err.name !== "AbortError") fillError(box, err);
    return undefined;
  } finally {
    controls.forEach((c, i) => (c.disabled = was[i]));
    form.removeAttribute("aria-busy");
  }
}

/** A job state as a badge. */
export function stateBadge(state) {
  return h("span", { class: `badge state-${state}` }, state);
}
