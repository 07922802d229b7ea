// Forms generated from an op's JSON schema (the subset `GET /v1/ops` uses): strings (enum →
// select), numbers with bounds (and a slider when both are known), booleans, arrays of simple
// values, one level of nested objects, oneOf/anyOf of constants or simple types; anything
// else is edited as JSON. Every input is labelled by its parameter's name.

import { h } from "./ui.js";

let count = 0;
const SIMPLE = new Set(["string", "integer", "number", "boolean"]);

/** Follows `$ref` (within `root`) and folds a lone `allOf` into its parent. */
function resolve(schema, root) {
  let s = schema === true || !schema ? {} : schema;
  for (let hops = 0; s.$ref && hops < 16; hops += 1) {
    const path = s.$ref.replace(/^#\/?/, "").split("/").filter(Boolean);
    const { $ref, ...rest } = s;
    const target = path.reduce((o, k) => (o ? o[decodeURIComponent(k).replace(/~1/g, "/").replace(/~0/g, "~")] : undefined), root);
    s = { ...(target || {}), ...rest };
  }
  if (Array.isArray(s.allOf) && s.allOf.length === 1) {
    const { allOf, ...rest } = s;
    return { ...resolve(allOf[0], root), ...rest };
  }
  return s;
}

const isNull = (s) => s.type === "null" || s.const === null || (Array.isArray(s.enum) && s.enum.length === 1 && s.enum[0] === null);
const constOf = (s) => ("const" in s ? [s.const] : Array.isArray(s.enum) ? s.enum : null);

/**
 * What kind of control a schema needs: {kind, nullable, schema, options?, itemType?}.
 * Kinds: choice, boolean, number, string, scalar (one of several simple types), array,
 * object, json.
 */
export function classify(schema, root, depth = 0) {
  let s = resolve(schema, root);
  let nullable = false;
  let types = Array.isArray(s.type) ? [...s.type] : s.type ? [s.type] : [];
  if (types.includes("null")) {
    nullable = true;
    types = types.filter((t) => t !== "null");
  }
  const alternatives = s.oneOf || s.anyOf;
  if (Array.isArray(alternatives)) {
    const alts = alternatives.map((a) => resolve(a, root));
    if (alts.some(isNull)) nullable = true;
    const rest = alts.filter((a) => !isNull(a));
    if (rest.length === 1) {
      const { oneOf, anyOf, ...outer } = s;
      const inner = classify({ ...rest[0], description: outer.description || rest[0].description, default: outer.default }, root, depth);
      return { ...inner, nullable: nullable || inner.nullable };
    }
    if (rest.length && rest.every((a) => constOf(a)?.every((v) => v === null || typeof v !== "object"))) {
      const options = rest.flatMap((a) => constOf(a).filter((v) => v !== null).map((value) => ({ value, description: a.description || a.title || "" })));
      return { kind: "choice", nullable, schema: s, options };
    }
    const alt = rest.map((a) => (Array.isArray(a.type) ? a.type.filter((t) => t !== "null") : [a.type]));
    if (rest.length && alt.every((t) => t.length === 1 && SIMPLE.has(t[0]) && !constOf(rest[alt.indexOf(t)]))) {
      return { kind: "scalar", nullable, schema: s, types: alt.map((t) => t[0]) };
    }
    return { kind: "json", nullable, schema: s };
  }
  const values = constOf(s);
  if (values && values.every((v) => v === null || typeof v !== "object")) {
    if (values.includes(null)) nullable = true;
    return { kind: "choice", nullable, schema: s, options: values.filter((v) => v !== null).map((value) => ({ value, description: "" })) };
  }
  if (types.length > 1) {
    return types.every((t) => SIMPLE.has(t)) ? { kind: "scalar", nullable, schema: s, types } : { kind: "json", nullable, schema: s };
  }
  const type = types[0] || (s.properties ? "object" : null);
  if (type === "boolean") return nullable ? { kind: "choice", nullable, schema: s, options: [{ value: true }, { value: false }] } : { kind: "boolean", nullable, schema: s };
  if (type === "integer" || type === "number") return { kind: "number", nullable, schema: s, integer: type === "integer" };
  if (type === "string") return { kind: "string", nullable, schema: s };
  if (type === "array") {
    const items = classify(Array.isArray(s.items) ? s.items[0] : s.items, root, depth + 1);
    const simple = ["number", "string", "boolean", "choice"].includes(items.kind) && !items.nullable;
    return simple && !Array.isArray(s.prefixItems) ? { kind: "array", nullable, schema: s, items } : { kind: "json", nullable, schema: s };
  }
  if (type === "object" && s.properties && depth < 1 && !s.patternProperties) return { kind: "object", nullable, schema: s };
  return { kind: "json", nullable, schema: s };
}

const show = (v) => (typeof v === "string" ? v : JSON.stringify(v));

/** f32 parameters come as their double expansion (0.20000000298023224): show them as 0.2. */
function tidy(value, kind) {
  const float = (k) => k?.schema?.format === "float";
  if (typeof value === "number" && float(kind)) return Number(value.toPrecision(7));
  if (Array.isArray(value) && kind.kind === "array" && float(kind.items)) return value.map((v) => (typeof v === "number" ? Number(v.toPrecision(7)) : v));
  return value;
}

function hintFor(kind, s, fallback) {
  const parts = [];
  if (s.description) parts.push(s.description);
  if (kind.kind === "array") parts.push("Separate values with commas.");
  if (kind.kind === "string" && s.pattern) parts.push(`Must match ${s.pattern}`);
  if (kind.kind === "json") parts.push("Written as JSON.");
  if (kind.kind === "scalar") parts.push(`A ${kind.types.join(" or ")}.`);
  if (fallback !== undefined && fallback !== null && fallback !== "") parts.push(`Default: ${Array.isArray(fallback) ? fallback.map(show).join(", ") : show(fallback)}.`);
  return parts.join(" ") || null;
}

/** Reads one simple value typed as text; throws a message when it is not one. */
function coerce(text, kind) {
  const t = text.trim();
  if (kind.kind === "number") {
    const n = Number(t);
    if (t === "" || !Number.isFinite(n)) throw new Error(`\`${t}\` is not a number`);
    if (kind.integer && !Number.isInteger(n)) throw new Error(`\`${t}\` is not a whole number`);
    return n;
  }
  if (kind.kind === "boolean") {
    if (t === "true" || t === "false") return t === "true";
    throw new Error(`\`${t}\` is not true or false`);
  }
  if (kind.kind === "choice") {
    const found = kind.options.find((o) => show(o.value) === t);
    if (!found) throw new Error(`\`${t}\` is not one of ${kind.options.map((o) => show(o.value)).join(", ")}`);
    return found.value;
  }
  return t;
}

/**
 * One control for `key`: {element, read() → {set, value, problem}, setError(message), focus()}.
 * `initial` is the value to show (undefined: not set).
 */
function control(key, schema, root, initial, { required, depth, label }) {
  const kind = classify(schema, root, depth);
  const s = kind.schema;
  const fallback = tidy(initial === undefined ? s.default : initial, kind);
  const hint = hintFor(kind, s, tidy(s.default, kind));
  const name = label || key;
  const labelText = [name, required ? h("span", { class: "req" }, " (required)") : null];
  count += 1;
  const id = `sf${count}`;
  const errorEl = h("small", { class: "field-error", id: `${id}-err`, hidden: true });
  let input;
  let read;
  let extra = null;

  if (kind.kind === "object") {
    const props = s.properties || {};
    const need = new Set(s.required || []);
    const value = fallback && typeof fallback === "object" ? fallback : {};
    const children = Object.entries(props).map(([k, sub]) =>
      [k, control(k, sub, root, value[k] === null ? undefined : value[k], { required: need.has(k), depth: depth + 1 })],
    );
    const element = h("fieldset", { class: "sf-object" }, h("legend", {}, labelText), s.description ? h("p", { class: "hint" }, s.description) : null, children.map(([, c]) => c.element), errorEl);
    return {
      element,
      kind,
      children,
      read() {
        const out = {};
        let problem = null;
        for (const [k, c] of children) {
          const r = c.read();
          problem ||= r.problem;
          if (r.set) out[k] = r.value;
        }
        const set = Object.keys(out).length > 0 || !kind.nullable;
        return { set, value: out, problem };
      },
      setError: (msg) => setError(errorEl, element, msg),
      focus: () => children[0]?.[1].focus(),
      child: (k) => children.find(([name]) => name === k)?.[1],
    };
  }

  if (kind.kind === "boolean") {
    input = h("input", { type: "checkbox", id, checked: Boolean(fallback) });
    read = () => ({ set: true, value: input.checked });
    const element = h("div", { class: "field sf-check" }, h("label", { for: id }, input, " ", labelText), hint ? h("small", { class: "hint", id: `${id}-hint` }, hint) : null, errorEl);
    if (hint) input.setAttribute("aria-describedby", `${id}-hint`);
    return finish(element);
  }

  if (kind.kind === "choice") {
    const blank = kind.nullable || fallback === undefined;
    input = h(
      "select",
      { id },
      blank ? h("option", { value: "" }, kind.nullable ? "(not set)" : "(choose)") : null,
      kind.options.map((o) => h("option", { value: show(o.value), title: o.description || false, selected: fallback !== undefined && show(o.value) === show(fallback) }, o.description ? `${show(o.value)} — ${o.description}` : show(o.value))),
    );
    if (fallback === undefined || fallback === null) input.value = "";
    // Option values are the constants as text (what a person or a test picks); read maps back.
    read = () => {
      if (input.value === "") return { set: false, problem: required ? "choose a value" : null };
      const found = kind.options.find((o) => show(o.value) === input.value);
      return found ? { set: true, value: found.value } : { set: false, problem: "choose a value" };
    };
  } else if (kind.kind === "number") {
    const lo = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum : undefined);
    const hi = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum : undefined);
    const step = kind.integer ? "1" : "any";
    input = h("input", { type: "number", id, inputmode: kind.integer ? "numeric" : "decimal", step, min: lo ?? false, max: hi ?? false });
    input.value = fallback === undefined || fallback === null ? "" : String(fallback);
    if (lo !== undefined && hi !== undefined && hi > lo) {
      // The slider is a pointer shortcut; the number box beside it is the accessible control.
      const slider = h("input", { type: "range", min: lo, max: hi, step: kind.integer ? "1" : String((hi - lo) / 100), tabindex: "-1", "aria-hidden": "true", class: "sf-slider" });
      slider.value = input.value === "" ? String(lo) : input.value;
      slider.addEventListener("input", () => {
        input.value = slider.value;
        input.dispatchEvent(new Event("input", { bubbles: true }));
      });
      input.addEventListener("input", () => {
        if (input.value !== "") slider.value = input.value;
      });
      extra = slider;
    }
    read = () => {
      if (input.value.trim() === "") return { set: false, problem: required || input.validity.badInput ? "enter a number" : null };
      try {
        const n = coerce(input.value, kind);
        if (lo !== undefined && n < lo) return { set: true, value: n, problem: `must be at least ${lo}` };
        if (hi !== undefined && n > hi) return { set: true, value: n, problem: `must be at most ${hi}` };
        return { set: true, value: n };
      } catch (err) {
        return { set: false, problem: err.message };
      }
    };
  } else if (kind.kind === "string" || kind.kind === "scalar") {
    input = h("input", { type: "text", id, autocomplete: "off", spellcheck: "false", pattern: s.pattern ? s.pattern.replace(/^\^/, "").replace(/\$$/, "") : false, maxlength: s.maxLength ?? false });
    input.value = fallback === undefined || fallback === null ? "" : String(fallback);
    read = () => {
      const text = input.value;
      if (text.trim() === "") return { set: false, problem: required ? "enter a value" : null };
      if (kind.kind === "string") {
        if (s.pattern && !new RegExp(s.pattern).test(text)) return { set: true, value: text, problem: "does not match the expected form" };
        return { set: true, value: text };
      }
      // Several simple types: a number where it reads as one and numbers are allowed.
      const t = text.trim();
      if ((kind.types.includes("integer") || kind.types.includes("number")) && t !== "" && Number.isFinite(Number(t))) {
        const n = Number(t);
        if (kind.types.includes("number") || Number.isInteger(n)) return { set: true, value: n };
      }
      if (kind.types.includes("boolean") && (t === "true" || t === "false")) return { set: true, value: t === "true" };
      if (kind.types.includes("string")) return { set: true, value: text };
      return { set: false, problem: `must be a ${kind.types.join(" or ")}` };
    };
  } else if (kind.kind === "array") {
    input = h("input", { type: "text", id, autocomplete: "off", spellcheck: "false" });
    input.value = Array.isArray(fallback) ? fallback.map(show).join(", ") : "";
    read = () => {
      const text = input.value.trim();
      if (text === "") return { set: false, problem: required ? "enter at least one value" : null };
      try {
        const value = text.split(",").map((part) => coerce(part, kind.items));
        const { minItems, maxItems } = s;
        if (minItems !== undefined && value.length < minItems) return { set: true, value, problem: `needs at least ${minItems} values` };
        if (maxItems !== undefined && value.length > maxItems) return { set: true, value, problem: `takes at most ${maxItems} values` };
        return { set: true, value };
      } catch (err) {
        return { set: false, problem: err.message };
      }
    };
  } else {
    input = h("textarea", { id, rows: "4", spellcheck: "false", class: "sf-json" });
    input.value = fallback === undefined ? "" : JSON.stringify(fallback, null, 2);
    read = () => {
      if (input.value.trim() === "") return { set: false, problem: required ? "enter a value" : null };
      try {
        return { set: true, value: JSON.parse(input.value) };
      } catch (err) {
        return { set: false, problem: `not valid JSON: ${err.message}` };
      }
    };
  }
  if (required) input.setAttribute("aria-required", "true");
  const described = [];
  if (hint) described.push(`${id}-hint`);
  described.push(`${id}-err`);
  input.setAttribute("aria-describedby", described.join(" "));
  const element = h("div", { class: "field" }, h("label", { for: id }, labelText), extra ? h("div", { class: "sf-pair" }, input, extra) : input, hint ? h("small", { class: "hint", id: `${id}-hint` }, hint) : null, errorEl);
  return finish(element);

  function finish(element) {
    return {
      element,
      kind,
      read,
      setError: (msg) => setError(errorEl, input, msg),
      focus: () => input.focus(),
    };
  }
}

function setError(errorEl, target, message) {
  errorEl.textContent = message || "";
  errorEl.hidden = !message;
  if (message) target.setAttribute("aria-invalid", "true");
  else target.removeAttribute("aria-invalid");
}

/**
 * A form for an object schema. `value` is what to show (missing keys fall back to `defaults`,
 * then to each property's schema default). Returns {element, read() → {value, problems:
 * [{path, message}]}, showError(path, message), clearErrors(), kinds} where `kinds` maps each
 * top-level property to its control kind (`json` for the ones only editable as JSON).
 */
export function schemaForm(schema, { value = {}, defaults = {}, onChange } = {}) {
  const root = schema || {};
  const top = resolve(root, root);
  const props = top.properties || {};
  const need = new Set(top.required || []);
  const controls = Object.entries(props).map(([key, sub]) => {
    const initial = key in value ? (value[key] === null ? undefined : value[key]) : defaults[key] === null ? undefined : defaults[key];
    return [key, control(key, sub, root, initial, { required: need.has(key), depth: 0 })];
  });
  // Keys the document has that the schema does not list are kept, as JSON, so nothing is lost.
  const known = new Set(Object.keys(props));
  for (const key of Object.keys(value)) {
    if (!known.has(key) && key !== "op") controls.push([key, control(key, {}, root, value[key], { required: false, depth: 0, label: `${key} (not in the schema)` })]);
  }
  const element = h("div", { class: "sf" }, controls.length ? controls.map(([, c]) => c.element) : h("p", { class: "muted" }, "This op takes no parameters."));
  if (onChange) {
    element.addEventListener("input", onChange);
    element.addEventListener("change", onChange);
  }
  const find = (path) => {
    const [first, ...rest] = path.split(".");
    let c = controls.find(([k]) => k === first.replace(/\[\d+\]$/, ""))?.[1];
    for (const part of rest) c = c?.child?.(part.replace(/\[\d+\]$/, "")) || c;
    return c;
  };
  return {
    element,
    kinds: Object.fromEntries(controls.map(([k, c]) => [k, c.kind.kind])),
    read() {
      const out = {};
      const problems = [];
      const walk = (prefix, list) => {
        for (const [k, c] of list) {
          const r = c.read();
          const path = prefix ? `${prefix}.${k}` : k;
          if (c.children) walk(path, c.children);
          else if (r.problem) problems.push({ path, message: r.problem });
          if (!prefix && r.set) out[k] = r.value;
        }
      };
      walk("", controls);
      return { value: out, problems };
    },
    /** Marks the field at `path` (`width`, `crop.x`); false when no field has that path. */
    showError(path, message) {
      const c = path ? find(path) : null;
      if (!c) return false;
      c.setError(message);
      c.focus();
      return true;
    },
    clearErrors() {
      const clear = (list) => list.forEach(([, c]) => (c.setError(null), c.children && clear(c.children)));
      clear(controls);
    },
    /** Shows (or clears) the client-side problems next to their fields. */
    showProblems(problems) {
      this.clearErrors();
      for (const p of problems) find(p.path)?.setError(p.message);
    },
  };
}

function bounds(s) {
  const lo = s.minimum ?? s.exclusiveMinimum;
  const hi = s.maximum ?? s.exclusiveMaximum;
  if (lo !== undefined && hi !== undefined) return ` ${lo}–${hi}`;
  if (lo !== undefined) return ` ≥ ${lo}`;
  if (hi !== undefined) return ` ≤ ${hi}`;
  return "";
}

function kindText(k) {
  const s = k.schema;
  switch (k.kind) {
    case "choice":
      return `one of ${k.options.map((o) => show(o.value)).join(", ")}`;
    case "number":
      return `${k.integer ? "integer" : "number"}${bounds(s)}`;
    case "boolean":
      return "true or false";
    case "string":
      return s.pattern ? `string matching ${s.pattern}` : "string";
    case "scalar":
      return k.types.join(" or ");
    case "array": {
      const n = s.minItems !== undefined && s.minItems === s.maxItems ? `${s.minItems} × ` : "";
      return `list of ${n}${kindText(k.items)}`;
    }
    case "object":
      return `object (${Object.keys(s.properties || {}).join(", ")})`;
    default:
      return "JSON value";
  }
}

/**
 * An op's parameters for reading: [{name, type, required, default, description}], `type`
 * in words ("integer 1–65535, optional"). `defaults` are the op's own defaults.
 */
export function describeParameters(schema, defaults = {}) {
  const root = schema || {};
  const top = resolve(root, root);
  const need = new Set(top.required || []);
  return Object.entries(top.properties || {}).map(([name, sub]) => {
    const k = classify(sub, root);
    const fallback = tidy(name in defaults ? defaults[name] : k.schema.default, k);
    return {
      name,
      type: `${kindText(k)}${k.nullable ? ", optional" : ""}`,
      required: need.has(name),
      default: fallback === undefined || fallback === null ? "" : show(fallback),
      description: k.schema.description || resolve(sub, root).description || "",
      kind: k.kind,
    };
  });
}
