// What vision ops found, shown to people: face and digit boxes drawn over the image with an
// SVG overlay (`.stage`), and the findings (faces' age, gender, expression; digits;
// classes and categories; moderation; notes) as a readable list with scores.

import { h } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

const percent = (p) => `${Math.round(p * 100)}%`;

/** Whether `annotations` holds anything (`faces: []`, "looked and found none", counts). */
export function hasAnnotations(annotations) {
  return Boolean(annotations && typeof annotations === "object" && Object.keys(annotations).length);
}

/** A face's attributes in words: "age 31 · female (92%) · happy", or "" before `analyze_faces`. */
export function faceWords(face) {
  const a = face.attributes;
  if (!a) return "";
  const parts = [`age ${Math.round(a.age)}`, `${a.gender} (${percent(a.gender_confidence)})`];
  if (a.emotion) parts.push(a.emotion);
  return parts.join(" · ");
}

/**
 * An SVG layer for `.stage`: one box per face (labelled with its number and, once analysed,
 * age, gender and expression) and per digit (labelled with the digit). `width` and
 * `height` are the image's pixels, which the annotations' positions are in.
 */
export function overlay(annotations, width, height) {
  const faces = annotations?.faces || [];
  const digits = annotations?.digits || [];
  const layer = svg("svg", { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none", "aria-hidden": "true", focusable: "false" });
  // Label sizes follow the image, so they read the same at any displayed size.
  const size = Math.max(10, Math.round(Math.min(width, height) / 22));
  const label = (x, y, text) => {
    const t = svg("text", { x, y: Math.max(size, y - size * 0.3) }, text);
    t.style.fontSize = `${size}px`;
    t.style.strokeWidth = `${Math.max(2, size / 5)}px`;
    return t;
  };
  faces.forEach((face, i) => {
    const b = face.box;
    layer.append(svg("rect", { x: b.x, y: b.y, width: b.width, height: b.height }));
    const words = faceWords(face);
    layer.append(label(b.x, b.y, words ? `${i + 1}: ${words}` : `${i + 1}`));
  });
  for (const d of digits) {
    const [x, y, w, hgt] = d.box;
    layer.append(svg("rect", { x, y, width: w, height: hgt }));
    layer.append(label(x, y, String(d.digit)));
  }
  return layer;
}

function labelRows(labels) {
  return h("ol", { class: "ann-found" }, labels.map((l) => h("li", {}, `${l.label} `, h("span", { class: "muted" }, percent(l.score)))));
}

/** The findings as a list, for people and screen readers alike; null when there are none. */
export function annotationList(annotations) {
  if (!annotations) return null;
  const parts = [];
  const { faces, digits, number, labels, categories, category, moderation, notes } = annotations;
  if (faces) {
    parts.push(h("h3", {}, faces.length === 1 ? "1 face" : `${faces.length} faces`));
    if (faces.length) {
      parts.push(
        h(
          "ol",
          { class: "ann-found" },
          faces.map((face) => {
            const b = face.box;
            const words = faceWords(face);
            return h(
              "li",
              {},
              words || "face",
              h("span", { class: "muted" }, ` (score ${percent(face.score)}; at ${Math.round(b.x)}, ${Math.round(b.y)}, ${Math.round(b.width)}×${Math.round(b.height)} px)`),
            );
          }),
        ),
      );
    }
  }
  if (number !== undefined || digits) {
    parts.push(h("h3", {}, "Number read"));
    parts.push(h("p", { class: "ann-number" }, number ? number : h("span", { class: "muted" }, "no digits found")));
    if (digits?.length) {
      parts.push(h("ol", { class: "ann-found" }, digits.map((d) => h("li", {}, `${d.digit} `, h("span", { class: "muted" }, percent(d.probabilities?.[d.digit] ?? 0))))));
    }
  }
  if (labels) parts.push(h("h3", {}, "What it shows"), labelRows(labels));
  if (categories) parts.push(h("h3", {}, "Product categories"), labelRows(categories));
  if (category) parts.push(h("h3", {}, "Your category"), h("p", {}, `${category.label} `, h("span", { class: "muted" }, percent(category.score))));
  if (moderation) {
    parts.push(h("h3", {}, "Moderation"), h("p", {}, moderation.needs_review ? "Flagged for review" : "Not flagged"), labelRows(moderation.scores || []));
  }
  if (notes?.length) parts.push(h("h3", {}, "Notes"), h("ul", {}, notes.map((n) => h("li", {}, n))));
  return parts.length ? h("div", { class: "ann-list" }, parts) : null;
}

/**
 * Shows an image with what vision ops found in it: fills `container` (replacing what it
 * held) with a `.stage` (the image at `imageUrl`, an object URL the caller owns and
 * revokes, with face and digit boxes drawn over it) and the findings as a list.
 *
 * `annotations` is an output's `annotations` object from a job's results
 * (`results.items[i].outputs[j].annotations`; every field optional, positions in the
 * output image's pixels):
 *   faces:      [{ box: {x, y, width, height}, score 0..1,
 *                  landmarks: {right_eye, left_eye, nose, mouth, right_ear, left_ear: [x, y]},
 *                  attributes?: {age, gender: "female"|"male", gender_confidence 0.5..1,
 *                                emotion, emotions: {angry, disgust, fear, happy, sad, surprise, neutral}} }]
 *              (`[]`: a detector looked and found none)
 *   digits:     [{ digit 0..9, probabilities: [10 numbers], box: [x, y, width, height] }]
 *   number:     the digits as text ("" when there was no ink)
 *   labels, categories: [{ label, score }] best first;  category: { label, score }
 *   moderation: { scores: [{ label, score }], needs_review }
 *   notes:      [text] (why something found earlier was dropped by a later step)
 *
 * `options.width`/`options.height` give the image's size when known (the output's
 * `width`/`height`); otherwise it is read once the image loads. `options.boxes: false`
 * leaves the boxes off (a blurred result shown clean). `options.alt` is the image's text.
 * Returns the `<figure>` made.
 */
export function drawAnnotations(container, imageUrl, annotations, options = {}) {
  const img = h("img", { src: imageUrl, alt: options.alt || "Result image" });
  const stage = h("div", { class: "stage" }, img);
  const boxes = options.boxes !== false && ((annotations?.faces?.length || 0) + (annotations?.digits?.length || 0) > 0);
  const place = (width, height) => {
    if (boxes && width && height && !stage.querySelector("svg")) stage.append(overlay(annotations, width, height));
  };
  if (options.width && options.height) place(options.width, options.height);
  else img.addEventListener("load", () => place(img.naturalWidth, img.naturalHeight), { once: true });
  const figure = h("figure", { class: "ann-figure" }, stage, annotationList(annotations));
  container.replaceChildren(figure);
  return figure;
}
