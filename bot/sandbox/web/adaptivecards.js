// Adaptive Cards, rendered to DOM nodes for the Teams sandbox (no build step, no dependencies): the
// subset the bot's Teams cards use (bot/teams/*.py), drawn roughly as Teams does.
//
// Safety: text only ever enters the page as text nodes or attribute values (never innerHTML), so a
// card cannot inject markup. TextBlocks get Teams' small markdown subset (**bold**, _italic_,
// [links](…)) and `<at>…</at>` mentions that `msteams.entities` names; a TextRun is shown exactly as
// written (that is where the bot puts what people typed). Only http, https and mailto URLs become
// links (safeHref, shared with the Block Kit renderer). Images only from data: URLs (the sandbox
// never loads anything from the internet); otherwise their alt text.
//
// ctx = {
//   doc: the document (tests pass a small fake),
//   values: {inputId: string} — what the person entered so far (kept across redraws; filled in here),
//   open: {actionPath: true} — which Action.ShowCard cards are shown (kept across redraws),
//   onAction({action, path, data}): an Action.Execute / Action.Submit was clicked and the inputs it
//     carries passed their checks; `data` is the inputs by id (as Teams merges them into the data; none
//     for an action with `associatedInputs: "none"`),
//     `path` where the action is in the card (["actions", 1, "card", "actions", 0]).
// }
import { safeHref } from "./blockkit.js";

export const KNOWN_ELEMENTS = [
  "TextBlock", "RichTextBlock", "FactSet", "Container", "ColumnSet", "Image", "ActionSet",
  "Input.Text", "Input.ChoiceSet", "Input.Date", "Input.Time", "Input.Number", "Input.Toggle",
];
export const KNOWN_INLINES = ["TextRun"];
export const KNOWN_ACTIONS = ["Action.Execute", "Action.Submit", "Action.ShowCard", "Action.OpenUrl",
  "Action.ToggleVisibility"];
// Everything a card may name as a `type` that this renderer draws (the card itself, columns, mentions too).
// "Data.Query": Teams' people picker (an Input.ChoiceSet's `choices.data`), drawn from ctx.people.
export const KNOWN_TYPES = ["AdaptiveCard", "Column", "mention", "Data.Query", ...KNOWN_ELEMENTS, ...KNOWN_INLINES,
  ...KNOWN_ACTIONS];

// ------------------------------------------------------------------------- small DOM helper

function h(ctx, tag, attrs, ...children) {
  const node = ctx.doc.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (["value", "checked", "selected", "multiple", "disabled", "hidden", "type", "name"].includes(key))
      node[key] = value;
    else if (key === "href") {
      const href = safeHref(value);
      if (href !== null) node.setAttribute("href", href);
    } else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(typeof child === "string" ? ctx.doc.createTextNode(child) : child);
  }
  return node;
}

function classes(el, base) {
  const out = [base];
  if (el.weight === "Bolder") out.push("ac-bold");
  if (el.weight === "Lighter") out.push("ac-light");
  if (el.isSubtle) out.push("ac-subtle");
  if (el.italic) out.push("ac-italic");
  if (el.strikethrough) out.push("ac-strike");
  if (el.size) out.push(`ac-size-${String(el.size).toLowerCase()}`);
  if (el.color) out.push(`ac-color-${String(el.color).toLowerCase()}`);
  if (el.horizontalAlignment) out.push(`ac-align-${String(el.horizontalAlignment).toLowerCase()}`);
  if (el.separator) out.push("ac-separator");
  return out.join(" ");
}

// ------------------------------------------------------------------------- TextBlock: markdown + mentions

// Teams' markdown in a TextBlock (the subset the bot may produce) and mentions; everything else is text.
const INLINE = [
  { type: "mention", re: /<at>([^<>]*)<\/at>/ },
  { type: "link", re: /\[([^\][\n]+)\]\(([^()\s]+)\)/ },
  { type: "bold", re: /\*\*(?!\s)([^*\n]+?)(?<!\s)\*\*/ },
  { type: "italic", re: /(?<![\p{L}\p{N}_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\p{L}\p{N}_])/u },
];

export function parseTextBlock(text) {
  const out = [];
  let rest = String(text ?? "");
  while (rest) {
    let best = null;
    for (const pattern of INLINE) {
      const m = pattern.re.exec(rest);
      if (m && (best === null || m.index < best.m.index)) best = { pattern, m };
    }
    if (best === null) { out.push({ type: "text", text: rest }); break; }
    if (best.m.index) out.push({ type: "text", text: rest.slice(0, best.m.index) });
    const [whole, a, b] = best.m;
    if (best.pattern.type === "link") out.push({ type: "link", text: a, url: b });
    else out.push({ type: best.pattern.type, text: a, whole });
    rest = rest.slice(best.m.index + whole.length);
  }
  return out;
}

function textNodes(ctx, text, mentions) {
  const nodes = [];
  for (const part of parseTextBlock(text)) {
    if (part.type === "mention") {
      // Only a mention the card's entities name is drawn as one; anything else stays literal text.
      const known = mentions.find((m) => m.text === part.whole);
      nodes.push(known ? h(ctx, "span", { class: "ac-mention", title: known.mentioned?.name || part.text }, part.text)
        : part.whole);
    } else if (part.type === "link") {
      const href = safeHref(part.url);
      nodes.push(href ? h(ctx, "a", { href, target: "_blank", rel: "noopener noreferrer" }, part.text)
        : `[${part.text}](${part.url})`);
    } else if (part.type === "bold") nodes.push(h(ctx, "strong", {}, part.text));
    else if (part.type === "italic") nodes.push(h(ctx, "em", {}, part.text));
    else {
      const lines = part.text.split("\n");
      lines.forEach((line, i) => { if (i) nodes.push(h(ctx, "br", {})); if (line) nodes.push(line); });
    }
  }
  return nodes;
}

// ------------------------------------------------------------------------- the card

class Scope {
  // One card's inputs (the root card, or a ShowCard's card, whose actions also carry its parents' inputs).
  constructor(parent) { this.parent = parent; this.inputs = []; }
  chain() { return this.parent ? [...this.parent.chain(), ...this.inputs] : [...this.inputs]; }
}

export function renderCard(card, ctx) {
  ctx.values = ctx.values || {};
  ctx.open = ctx.open || {};
  const run = { ctx, mentions: (card.msteams?.entities || []).filter((e) => e && e.type === "mention"), byId: {} };
  return renderSubCard(run, card, new Scope(null), []);
}

function renderSubCard(run, card, scope, path) {
  const root = h(run.ctx, "div", { class: "ac-card" });
  (card.body || []).forEach((el, i) => appendElement(run, root, el, scope, [...path, "body", i]));
  if ((card.actions || []).length) root.appendChild(renderActions(run, card.actions, scope, [...path, "actions"]));
  return root;
}

function appendElement(run, parent, el, scope, path) {
  const node = renderElement(run, el, scope, path);
  if (node === null) return;
  if (el.isVisible === false) node.hidden = true;
  if (el.id) run.byId[el.id] = node;
  if (el.spacing === "Large" || el.spacing === "ExtraLarge") node.className += " ac-space-large";
  parent.appendChild(node);
}

function renderElement(run, el, scope, path) {
  const ctx = run.ctx;
  if (!el || typeof el !== "object") return null;
  switch (el.type) {
    case "TextBlock":
      return h(ctx, "div", { class: classes(el, "ac-textblock") }, textNodes(ctx, el.text, run.mentions));
    case "RichTextBlock":
      return h(ctx, "div", { class: classes(el, "ac-richtext") },
        (el.inlines || []).map((inline) => (typeof inline === "string" ? inline
          : inline?.type === "TextRun" ? h(ctx, "span", { class: classes(inline, "ac-textrun") }, String(inline.text ?? ""))
            : unknown(ctx, inline))));
    case "FactSet":
      return h(ctx, "table", { class: "ac-factset" }, h(ctx, "tbody", {}, (el.facts || []).map((f) =>
        h(ctx, "tr", {}, h(ctx, "th", {}, textNodes(ctx, f.title, run.mentions)),
          h(ctx, "td", {}, textNodes(ctx, f.value, run.mentions))))));
    case "Container": {
      const box = h(ctx, "div", { class: classes(el, `ac-container${el.style ? ` ac-style-${String(el.style).toLowerCase()}` : ""}`) });
      (el.items || []).forEach((item, i) => appendElement(run, box, item, scope, [...path, "items", i]));
      return box;
    }
    case "ColumnSet":
      return h(ctx, "div", { class: classes(el, "ac-columnset") }, (el.columns || []).map((col, c) => {
        const column = h(ctx, "div", { class: `ac-column${col.width === "auto" ? " ac-column-auto" : ""}` });
        (col.items || []).forEach((item, i) => appendElement(run, column, item, scope, [...path, "columns", c, "items", i]));
        return column;
      }));
    case "Image": {
      const src = typeof el.url === "string" && el.url.startsWith("data:image/") ? el.url : null;
      return src ? h(ctx, "img", { class: "ac-image", src, alt: el.altText || "" })
        : h(ctx, "div", { class: "ac-image-alt" }, `🖼 ${el.altText || "afbeelding"}`);
    }
    case "ActionSet":
      return renderActions(run, el.actions || [], scope, [...path, "actions"]);
    case "Input.Text": case "Input.ChoiceSet": case "Input.Date": case "Input.Time": case "Input.Number":
    case "Input.Toggle":
      return renderInput(run, el, scope);
    default:
      if (el.fallback === "drop") return null;
      if (el.fallback && typeof el.fallback === "object") return renderElement(run, el.fallback, scope, [...path, "fallback"]);
      return unknown(ctx, el);
  }
}

function unknown(ctx, el) {
  return h(ctx, "div", { class: "ac-unknown" }, `[kaartonderdeel ${String(el?.type)} wordt in de sandbox niet getoond]`);
}

// ------------------------------------------------------------------------- inputs

function initial(run, el) {
  if (Object.prototype.hasOwnProperty.call(run.ctx.values, el.id)) return run.ctx.values[el.id];
  if (el.type === "Input.Toggle") {
    const on = el.valueOn ?? "true";
    const off = el.valueOff ?? "false";
    return el.value === on ? on : off;
  }
  return el.value === undefined || el.value === null ? "" : String(el.value);
}

function renderInput(run, el, scope) {
  const ctx = run.ctx;
  const id = String(el.id || "");
  const error = h(ctx, "div", { class: "ac-error", hidden: true, role: "alert" }, String(el.errorMessage || "Vul dit in."));
  const set = (v) => {
    ctx.values[id] = v;
    if (String(v).trim() !== "") error.hidden = true; // filled in: the complaint goes
  };
  const value = initial(run, el);
  ctx.values[id] = value;
  const wrap = h(ctx, "div", { class: "ac-input", "data-input-id": id });
  if (el.label) {
    wrap.appendChild(h(ctx, "div", { class: "ac-label" }, String(el.label), el.isRequired ? h(ctx, "span", { class: "ac-required" }, " *") : null));
  }
  let control;
  const label = el.label ? String(el.label) : el.placeholder ? String(el.placeholder) : id;
  switch (el.type) {
    case "Input.Text":
      control = h(ctx, el.isMultiline ? "textarea" : "input", {
        class: "ac-text", value, placeholder: el.placeholder, maxlength: el.maxLength, "aria-label": label,
        oninput: (e) => set(e.target.value),
      });
      if (!el.isMultiline) control.type = "text";
      break;
    case "Input.Date": case "Input.Time": case "Input.Number":
      control = h(ctx, "input", {
        class: "ac-text", type: el.type === "Input.Date" ? "date" : el.type === "Input.Time" ? "time" : "number",
        value, min: el.min, max: el.max, "aria-label": label, oninput: (e) => set(e.target.value),
        onchange: (e) => set(e.target.value),
      });
      break;
    case "Input.Toggle": {
      const on = String(el.valueOn ?? "true");
      const off = String(el.valueOff ?? "false");
      control = h(ctx, "label", { class: "ac-toggle" },
        h(ctx, "input", { type: "checkbox", checked: value === on, onchange: (e) => set(e.target.checked ? on : off) }),
        " ", String(el.title ?? ""));
      break;
    }
    case "Input.ChoiceSet":
      control = renderChoices(run, el, value, set, label);
      break;
    default:
      control = unknown(ctx, el);
  }
  wrap.appendChild(control);
  wrap.appendChild(error);
  scope.inputs.push({
    id,
    value: () => ctx.values[id] ?? "",
    check: () => {
      const ok = !el.isRequired || String(ctx.values[id] ?? "").trim() !== "";
      error.hidden = ok;
      return ok;
    },
  });
  return wrap;
}

function renderChoices(run, el, value, set, label) {
  const ctx = run.ctx;
  let choices = (el.choices || []).filter((c) => c && typeof c === "object");
  const query = el["choices.data"];
  if (query && query.type === "Data.Query" && String(query.dataset || "").startsWith("graph.microsoft.com/users")) {
    // Teams' people picker searches the organisation; the sandbox offers its demo people (ctx.people:
    // [{value: Entra object id, title: name}]) beside the choices the card starts with.
    const seen = new Set(choices.map((c) => String(c.value)));
    choices = [...choices, ...(ctx.people || []).filter((p) => !seen.has(String(p.value)))];
  }
  if (el.isMultiSelect) {
    // Teams sends a multi-select as the chosen values joined with commas, in the choices' order.
    const chosen = new Set(String(value).split(",").filter(Boolean));
    const update = () => set(choices.map((c) => String(c.value)).filter((v) => chosen.has(v)).join(","));
    return h(ctx, "div", { class: "ac-choices", role: "group", "aria-label": label }, choices.map((c) =>
      h(ctx, "label", { class: "ac-choice" },
        h(ctx, "input", { type: "checkbox", checked: chosen.has(String(c.value)), onchange: (e) => {
          if (e.target.checked) chosen.add(String(c.value)); else chosen.delete(String(c.value));
          update();
        } }), " ", String(c.title ?? c.value))));
  }
  if (el.style === "expanded") {
    const name = `ac-${String(el.id)}-${Math.random().toString(36).slice(2, 8)}`;
    return h(ctx, "div", { class: "ac-choices", role: "radiogroup", "aria-label": label }, choices.map((c) =>
      h(ctx, "label", { class: "ac-choice" },
        h(ctx, "input", { type: "radio", name, checked: String(c.value) === value, onchange: () => set(String(c.value)) }),
        " ", String(c.title ?? c.value))));
  }
  const select = h(ctx, "select", { class: "ac-select", "aria-label": label, onchange: (e) => set(e.target.value) },
    h(ctx, "option", { value: "", selected: value === "" }, String(el.placeholder || "Kies…")),
    choices.map((c) => h(ctx, "option", { value: String(c.value), selected: String(c.value) === value }, String(c.title ?? c.value))));
  return select;
}

// ------------------------------------------------------------------------- actions

function renderActions(run, actions, scope, path) {
  const ctx = run.ctx;
  const row = h(ctx, "div", { class: "ac-actions" });
  const shown = h(ctx, "div", { class: "ac-showcards" });
  actions.forEach((action, i) => {
    const where = [...path, i];
    const key = JSON.stringify(where);
    const style = action?.style ? ` ac-action-${String(action.style).toLowerCase()}` : "";
    const title = String(action?.title ?? "");
    switch (action?.type) {
      case "Action.Execute": case "Action.Submit":
        row.appendChild(h(ctx, "button", { type: "button", class: `ac-action${style}`, onclick: () => execute(run, action, scope, where) }, title));
        break;
      case "Action.OpenUrl": {
        const href = safeHref(action.url);
        row.appendChild(href ? h(ctx, "a", { class: `ac-action ac-link${style}`, href, target: "_blank", rel: "noopener noreferrer" }, title)
          : h(ctx, "span", { class: "ac-action ac-disabled" }, title));
        break;
      }
      case "Action.ShowCard": {
        const sub = renderSubCard(run, action.card || {}, new Scope(scope), [...where, "card"]);
        sub.className += " ac-showcard";
        sub.hidden = !run.ctx.open[key];
        shown.appendChild(sub);
        const button = h(ctx, "button", { type: "button", class: `ac-action ac-action-showcard${style}${sub.hidden ? "" : " ac-open"}`,
          "aria-expanded": sub.hidden ? "false" : "true", onclick: () => {
            const open = !run.ctx.open[key];
            run.ctx.open[key] = open;
            sub.hidden = !open;
            button.className = button.className.replace(/ ac-open/g, "") + (open ? " ac-open" : "");
            button.setAttribute("aria-expanded", open ? "true" : "false");
          } }, title);
        row.appendChild(button);
        break;
      }
      case "Action.ToggleVisibility":
        row.appendChild(h(ctx, "button", { type: "button", class: `ac-action${style}`, onclick: () => {
          for (const target of action.targetElements || []) {
            const id = typeof target === "string" ? target : target?.elementId;
            const node = run.byId[id];
            if (node) node.hidden = typeof target === "object" && "isVisible" in target ? !target.isVisible : !node.hidden;
          }
        } }, title));
        break;
      default:
        row.appendChild(unknown(ctx, action));
    }
  });
  const box = h(ctx, "div", { class: "ac-actionset" }, row);
  if (shown.childNodes.length) box.appendChild(shown);
  return box;
}

function execute(run, action, scope, path) {
  // As Teams: the inputs of the action's card and of the cards around it are checked, then sent along —
  // unless the action says `associatedInputs: "none"` (Annuleren, Overslaan: sent without them, unchecked).
  if (String(action.associatedInputs || "").toLowerCase() === "none") {
    if (run.ctx.onAction) run.ctx.onAction({ action, path, data: {} });
    return;
  }
  const inputs = scope.chain();
  const results = inputs.map((input) => input.check());
  if (results.includes(false)) return;
  const data = {};
  for (const input of inputs) if (input.id) data[input.id] = String(input.value());
  if (run.ctx.onAction) run.ctx.onAction({ action, path, data });
}
