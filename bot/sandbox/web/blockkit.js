// Block Kit and mrkdwn, rendered to DOM nodes for the sandbox (no build step, no dependencies).
//
// Safety: text only ever enters the page as text nodes or attribute values (never innerHTML), so a
// message cannot inject markup. `&amp;`, `&lt;` and `&gt;` are unescaped for display only. Only
// http, https and mailto URLs become links (safeHref); any other scheme is shown as text.
//
// ctx = {
//   doc: the document (tests pass a small fake),
//   users: {U…: {real_name, name}}, channels: {C…: {name}},
//   tz: "Europe/Amsterdam", now: Date (for "today"/"yesterday"),
//   surface: "message" | "modal" | "home",
//   state: {block_id: {action_id: raw value}} — the client's local element state (filled in here),
//   errors: {block_id: message} from response_action "errors",
//   onAction(event): called with {block, element, value?, selected?} when Slack would send
//     block_actions; confirm(dialog) → Promise<boolean> for elements with a `confirm` object.
// }

const ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">" };

export function unescapeEntities(text) {
  return String(text).replace(/&(amp|lt|gt);/g, (m) => ENTITIES[m]);
}

// ------------------------------------------------------------------------- links

// Only these schemes become a link; anything else (javascript:, data:, vbscript:, tel:, relative
// paths, …) is shown as text. The URL is parsed as the browser would parse the href (leading spaces,
// control characters and tabs inside the scheme are no way round it).
const LINK_SCHEMES = new Set(["http:", "https:", "mailto:"]);

export function safeHref(url) {
  if (url === undefined || url === null) return null;
  let parsed;
  try {
    parsed = new URL(String(url));
  } catch {
    return null;
  }
  return LINK_SCHEMES.has(parsed.protocol) ? String(url) : null;
}

// ------------------------------------------------------------------------- small DOM helper

function h(ctx, tag, attrs, ...children) {
  const node = ctx.doc.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (["id", "value", "checked", "selected", "multiple", "disabled", "hidden"].includes(key))
      node[key] = value;
    else if (key === "href") { // whoever builds the node: never a link with an unsafe scheme
      const href = safeHref(value);
      if (href !== null) node.setAttribute("href", href);
    }
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(typeof child === "string" ? ctx.doc.createTextNode(child) : child);
  }
  return node;
}

// ------------------------------------------------------------------------- mrkdwn: parse

// Inline patterns; bold/italic/strike need a non-word character (or the edge) around them, as in Slack.
const INLINE = [
  { type: "angle", re: /<([^<>\n]+)>/ },
  { type: "code", re: /`([^`\n]+)`/ },
  { type: "bold", re: /(?<![\p{L}\p{N}*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\p{L}\p{N}*])/u },
  { type: "italic", re: /(?<![\p{L}\p{N}_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\p{L}\p{N}_])/u },
  { type: "strike", re: /(?<![\p{L}\p{N}~])~(?!\s)([^~\n]+?)(?<!\s)~(?![\p{L}\p{N}~])/u },
];

function parseAngle(inner) {
  const [target, ...rest] = inner.split("|");
  const label = rest.length ? rest.join("|") : null;
  if (target.startsWith("@")) return { type: "mention", user: target.slice(1), label };
  if (target.startsWith("#")) return { type: "channel", channel: target.slice(1), label };
  if (target.startsWith("!date^")) {
    const [, epoch, format, link] = target.split("^");
    return { type: "date", epoch: Number(epoch), format: format || "{date}", link: link || null, fallback: label };
  }
  if (target.startsWith("!subteam^")) return { type: "usergroup", id: target.slice(9), label };
  if (target.startsWith("!")) return { type: "broadcast", name: target.slice(1), label };
  return { type: "link", url: target, label };
}

export function parseInline(text) {
  const out = [];
  let rest = String(text);
  while (rest) {
    let best = null;
    for (const pattern of INLINE) {
      const m = pattern.re.exec(rest);
      if (m && (best === null || m.index < best.m.index)) best = { pattern, m };
    }
    if (!best) {
      out.push({ type: "text", text: rest });
      break;
    }
    const { pattern, m } = best;
    if (m.index > 0) out.push({ type: "text", text: rest.slice(0, m.index) });
    if (pattern.type === "angle") out.push(parseAngle(m[1]));
    else if (pattern.type === "code") out.push({ type: "code", text: m[1] });
    else out.push({ type: pattern.type, children: parseInline(m[1]) });
    rest = rest.slice(m.index + m[0].length);
  }
  return out;
}

// Blocks of a mrkdwn text: ```preformatted```, > quotes, and paragraphs of inline text.
export function parseMrkdwn(text) {
  const out = [];
  const parts = String(text ?? "").split("```");
  parts.forEach((part, index) => {
    if (index % 2 === 1) {
      out.push({ type: "pre", text: part.replace(/^\n/, "") });
      return;
    }
    // The newlines around a ``` fence belong to the fence, not to the text beside it.
    if (index > 0) part = part.replace(/^\n/, "");
    if (index < parts.length - 1) part = part.replace(/\n$/, "");
    if (!part) return;
    let quote = null;
    let para = null;
    for (const line of part.split("\n")) {
      const q = /^(?:&gt;|>)\s?(.*)$/.exec(line);
      if (q) {
        para = null;
        if (!quote) out.push((quote = { type: "quote", lines: [] }));
        quote.lines.push(parseInline(q[1]));
      } else {
        quote = null;
        if (!para) out.push((para = { type: "para", lines: [] }));
        para.lines.push(parseInline(line));
      }
    }
  });
  return out;
}

// ------------------------------------------------------------------------- dates

const MONTHS = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
  "oktober", "november", "december"];
const DAYS = ["zondag", "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag"];

function localParts(date, tz) {
  const fmt = new Intl.DateTimeFormat("en-GB", {
    timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit", weekday: "short", hourCycle: "h23",
  });
  const parts = Object.fromEntries(fmt.formatToParts(date).map((p) => [p.type, p.value]));
  const weekday = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].indexOf(parts.weekday);
  return { y: +parts.year, mo: +parts.month, d: +parts.day, hh: parts.hour, mm: parts.minute, ss: parts.second,
    weekday };
}

// Slack's date tokens, in Dutch and in the reader's time zone.
export function formatSlackDate(epoch, format, tz = "Europe/Amsterdam", now = new Date()) {
  const date = new Date(epoch * 1000);
  const p = localParts(date, tz);
  const pad = (n) => String(n).padStart(2, "0");
  const dateShort = `${p.d} ${MONTHS[p.mo - 1].slice(0, 3)} ${p.y}`;
  const dateLong = `${DAYS[p.weekday]} ${p.d} ${MONTHS[p.mo - 1]} ${p.y}`;
  const dateFull = `${p.d} ${MONTHS[p.mo - 1]} ${p.y}`;
  const today = localParts(now, tz);
  const dayNumber = (x) => Date.UTC(x.y, x.mo - 1, x.d) / 86400000;
  const diff = dayNumber(p) - dayNumber(today);
  const pretty = (plain) => (diff === 0 ? "vandaag" : diff === -1 ? "gisteren" : diff === 1 ? "morgen" : plain);
  const tokens = {
    date_num: `${p.y}-${pad(p.mo)}-${pad(p.d)}`,
    date: dateFull,
    date_short: dateShort,
    date_long: dateLong,
    date_pretty: pretty(dateFull),
    date_short_pretty: pretty(dateShort),
    date_long_pretty: pretty(dateLong),
    time: `${p.hh}:${p.mm}`,
    time_secs: `${p.hh}:${p.mm}:${p.ss}`,
    ago: relative(epoch * 1000 - now.getTime()),
  };
  return format.replace(/\{(\w+)\}/g, (m, key) => (key in tokens ? tokens[key] : m));
}

function relative(ms) {
  const minutes = Math.round(Math.abs(ms) / 60000);
  const amount = minutes < 60 ? `${minutes} minuten` : minutes < 2880 ? `${Math.round(minutes / 60)} uur`
    : `${Math.round(minutes / 1440)} dagen`;
  return ms < 0 ? `${amount} geleden` : `over ${amount}`;
}

// A Unix timestamp as the value of an <input type="datetime-local"> ("2027-03-25T14:00") in `tz`.
export function epochToLocalInput(epoch, tz) {
  const p = localParts(new Date(epoch * 1000), tz);
  const pad = (n) => String(n).padStart(2, "0");
  return `${p.y}-${pad(p.mo)}-${pad(p.d)}T${p.hh}:${p.mm}`;
}

// The Unix timestamp of a local date and time ("2027-03-25T14:00") in `tz` (daylight saving included).
export function localInputToEpoch(value, tz) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(String(value));
  if (!m) return null;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]) / 1000;
  let epoch = wall;
  for (let i = 0; i < 2; i += 1) { // wall time minus the zone's offset at that moment
    const p = localParts(new Date(epoch * 1000), tz);
    const shown = Date.UTC(p.y, p.mo - 1, p.d, +p.hh, +p.mm) / 1000;
    epoch += wall - shown;
  }
  return epoch;
}

// ------------------------------------------------------------------------- mrkdwn: render

function renderInline(nodes, ctx) {
  return nodes.map((node) => {
    switch (node.type) {
      case "text":
        return ctx.doc.createTextNode(unescapeEntities(node.text));
      case "bold":
        return h(ctx, "b", {}, renderInline(node.children, ctx));
      case "italic":
        return h(ctx, "i", {}, renderInline(node.children, ctx));
      case "strike":
        return h(ctx, "s", {}, renderInline(node.children, ctx));
      case "code":
        return h(ctx, "code", {}, unescapeEntities(node.text));
      case "mention": {
        const user = (ctx.users || {})[node.user];
        const name = user ? user.real_name || user.name : node.label || node.user;
        return h(ctx, "span", { class: "bk-mention", "data-user": node.user }, `@${name}`);
      }
      case "channel": {
        const channel = (ctx.channels || {})[node.channel];
        return h(ctx, "span", { class: "bk-mention" }, `#${channel ? channel.name : node.label || node.channel}`);
      }
      case "usergroup":
        return h(ctx, "span", { class: "bk-mention" }, unescapeEntities(node.label || "@groep"));
      case "broadcast":
        return h(ctx, "span", { class: "bk-mention bk-broadcast" }, `@${node.name.split("^")[0]}`);
      case "date": {
        let text;
        try {
          text = formatSlackDate(node.epoch, node.format, ctx.tz, ctx.now || new Date());
        } catch {
          text = unescapeEntities(node.fallback || "");
        }
        const attrs = { class: "bk-date", title: unescapeEntities(node.fallback || "") };
        const href = node.link ? safeHref(unescapeEntities(node.link)) : null;
        return href ? h(ctx, "a", { ...attrs, href, target: "_blank", rel: "noopener noreferrer" }, text)
          : h(ctx, "time", attrs, text);
      }
      case "link": {
        const url = unescapeEntities(node.url);
        const label = node.label ? unescapeEntities(node.label) : url.replace(/^mailto:/, "");
        const safe = safeHref(url);
        return safe ? h(ctx, "a", { href: safe, target: "_blank", rel: "noopener noreferrer" }, label)
          : h(ctx, "span", {}, label);
      }
      default:
        return ctx.doc.createTextNode("");
    }
  });
}

export function renderMrkdwn(text, ctx) {
  const wrap = h(ctx, "span", { class: "bk-mrkdwn" });
  for (const part of parseMrkdwn(text)) {
    if (part.type === "pre") {
      wrap.appendChild(h(ctx, "pre", {}, unescapeEntities(part.text)));
      continue;
    }
    const container = h(ctx, part.type === "quote" ? "blockquote" : "span", { class: `bk-${part.type}` });
    part.lines.forEach((line, i) => {
      if (i > 0) container.appendChild(h(ctx, "br"));
      renderInline(line, ctx).forEach((node) => container.appendChild(node));
    });
    wrap.appendChild(container);
  }
  return wrap;
}

export function renderText(obj, ctx) {
  if (!obj) return h(ctx, "span");
  if (typeof obj === "string") return h(ctx, "span", {}, obj);
  if (obj.type === "mrkdwn") return renderMrkdwn(obj.text, ctx);
  return h(ctx, "span", { class: "bk-plain" }, obj.text ?? "");
}

function plainText(obj) {
  return obj ? (typeof obj === "string" ? obj : unescapeEntities(obj.text ?? "")) : "";
}

// ------------------------------------------------------------------------- element state

function allOptions(element) {
  const options = [...(element.options || [])];
  for (const group of element.option_groups || []) options.push(...(group.options || []));
  return options;
}

function initialValue(element) {
  switch (element.type) {
    case "static_select":
    case "radio_buttons":
    case "external_select":
      return element.initial_option ? element.initial_option.value : null;
    case "multi_static_select":
    case "checkboxes":
    case "multi_external_select":
      return (element.initial_options || []).map((o) => o.value);
    case "datepicker":
      return element.initial_date || null;
    case "timepicker":
      return element.initial_time || null;
    case "datetimepicker":
      return element.initial_date_time ?? null;
    case "users_select":
      return element.initial_user || null;
    case "conversations_select":
      return element.initial_conversation || null;
    case "channels_select":
      return element.initial_channel || null;
    case "multi_users_select":
      return element.initial_users || [];
    default:
      return element.initial_value ?? null;
  }
}

function stateSlot(ctx, block, element) {
  ctx.state = ctx.state || {};
  const byBlock = (ctx.state[block.block_id] = ctx.state[block.block_id] || {});
  if (!(element.action_id in byBlock)) byBlock[element.action_id] = initialValue(element);
  return {
    get: () => byBlock[element.action_id],
    set: (value) => {
      byBlock[element.action_id] = value;
    },
  };
}

// Slack sends block_actions for elements in actions blocks and section accessories, and for input
// elements only with dispatch_action.
function dispatches(block) {
  return block.type !== "input" || block.dispatch_action === true;
}

async function fire(ctx, block, element, extra) {
  if (!ctx.onAction) return;
  if (element.confirm && ctx.confirm && !(await ctx.confirm(element.confirm))) return;
  ctx.onAction({ block, element, ...extra });
}

// ------------------------------------------------------------------------- elements

let uid = 0;

export function renderElement(element, block, ctx) {
  const id = `bk-${++uid}`;
  const common = { "data-action-id": element.action_id, "data-type": element.type };
  switch (element.type) {
    case "button": {
      const cls = ["bk-button", element.style ? `bk-button-${element.style}` : ""].join(" ").trim();
      const attrs = { ...common, class: cls, type: "button", title: element.url || undefined };
      attrs.onclick = () => {
        if (element.url) ctx.openUrl?.(element.url);
        fire(ctx, block, element, { value: element.value });
      };
      return h(ctx, "button", attrs, plainText(element.text));
    }
    case "overflow": {
      const menu = h(ctx, "div", { class: "bk-overflow-menu", hidden: true, role: "menu" });
      for (const option of element.options || []) {
        menu.appendChild(h(ctx, "button", {
          class: "bk-overflow-item", type: "button", role: "menuitem", "data-value": option.value,
          onclick: () => {
            menu.hidden = true;
            fire(ctx, block, element, { selected: option.value });
          },
        }, plainText(option.text)));
      }
      const toggle = h(ctx, "button", {
        class: "bk-overflow-toggle", type: "button", "aria-label": "Meer acties", title: "Meer acties",
        onclick: () => { menu.hidden = !menu.hidden; },
      }, "⋯");
      return h(ctx, "span", { ...common, class: "bk-overflow" }, toggle, menu);
    }
    case "static_select":
    case "external_select":
    case "users_select":
    case "conversations_select":
    case "channels_select": {
      const slot = stateSlot(ctx, block, element);
      const select = h(ctx, "select", { ...common, class: "bk-select", id });
      select.appendChild(h(ctx, "option", { value: "", disabled: true, selected: slot.get() === null },
        plainText(element.placeholder) || "Kies een optie"));
      const addOption = (parent, option) => parent.appendChild(h(ctx, "option",
        { value: option.value, selected: slot.get() === option.value }, plainText(option.text)));
      if (element.type === "users_select") {
        for (const [userId, user] of Object.entries(ctx.users || {})) {
          if (!user.is_bot) addOption(select, { value: userId, text: user.real_name || user.name });
        }
      } else if (element.option_groups) {
        for (const group of element.option_groups) {
          const og = h(ctx, "optgroup", { label: plainText(group.label) });
          (group.options || []).forEach((o) => addOption(og, o));
          select.appendChild(og);
        }
      } else {
        (element.options || []).forEach((o) => addOption(select, o));
      }
      select.addEventListener("change", () => {
        slot.set(select.value || null);
        if (dispatches(block)) fire(ctx, block, element, { selected: select.value });
      });
      return select;
    }
    case "multi_static_select":
    case "multi_external_select":
    case "multi_users_select": {
      const slot = stateSlot(ctx, block, element);
      const chosen = new Set(slot.get() || []);
      const select = h(ctx, "select", { ...common, class: "bk-select bk-multi", multiple: true, id,
        "aria-label": plainText(element.placeholder) || "Kies opties" });
      const options = element.type === "multi_users_select"
        ? Object.entries(ctx.users || {}).filter(([, u]) => !u.is_bot).map(([v, u]) => ({ value: v, text: u.real_name }))
        : allOptions(element);
      for (const option of options) {
        select.appendChild(h(ctx, "option", { value: option.value, selected: chosen.has(option.value) },
          plainText(option.text)));
      }
      select.setAttribute("size", String(Math.min(Math.max(options.length, 2), 8))); // every option in view
      const changed = () => {
        const values = Array.from(select.options).filter((o) => o.selected).map((o) => o.value);
        slot.set(values);
        if (dispatches(block)) fire(ctx, block, element, { selected: values });
      };
      select.addEventListener("change", changed);
      // A click toggles one option (as ticking a chip in Slack), without Ctrl/⌘ and without losing the rest.
      select.addEventListener("mousedown", (event) => {
        if (event.target?.tagName !== "OPTION" || event.button) return;
        event.preventDefault();
        event.target.selected = !event.target.selected;
        select.focus?.();
        changed();
      });
      return select;
    }
    case "checkboxes":
    case "radio_buttons": {
      const slot = stateSlot(ctx, block, element);
      const multi = element.type === "checkboxes";
      const group = h(ctx, "div", { ...common, class: `bk-${multi ? "checkboxes" : "radios"}`,
        role: multi ? "group" : "radiogroup" });
      const name = `${id}-${element.action_id}`;
      for (const option of element.options || []) {
        const current = slot.get();
        const checked = multi ? (current || []).includes(option.value) : current === option.value;
        const input = h(ctx, "input", { type: multi ? "checkbox" : "radio", name, value: option.value, checked });
        input.addEventListener("change", () => {
          let value;
          if (multi) {
            const set = new Set(slot.get() || []);
            if (input.checked) set.add(option.value);
            else set.delete(option.value);
            value = allOptions(element).map((o) => o.value).filter((v) => set.has(v));
          } else {
            value = option.value;
          }
          slot.set(value);
          if (dispatches(block)) fire(ctx, block, element, { selected: value });
        });
        const label = h(ctx, "label", { class: "bk-choice" }, input, renderText(option.text, ctx));
        if (option.description) label.appendChild(h(ctx, "small", {}, plainText(option.description)));
        group.appendChild(label);
      }
      return group;
    }
    case "datepicker":
    case "timepicker": {
      const slot = stateSlot(ctx, block, element);
      const input = h(ctx, "input", { ...common, class: "bk-input", id,
        type: element.type === "datepicker" ? "date" : "time", value: slot.get() || "" });
      input.addEventListener("change", () => {
        slot.set(input.value || null);
        if (dispatches(block)) fire(ctx, block, element, { selected: input.value });
      });
      return input;
    }
    case "datetimepicker": {
      // Slack's value is a Unix timestamp (selected_date_time); the reader picks a local date and time.
      const slot = stateSlot(ctx, block, element);
      const tz = ctx.tz || "Europe/Amsterdam";
      const input = h(ctx, "input", { ...common, class: "bk-input", id, type: "datetime-local",
        value: slot.get() === null || slot.get() === undefined ? "" : epochToLocalInput(Number(slot.get()), tz) });
      input.addEventListener("change", () => {
        const epoch = input.value ? localInputToEpoch(input.value, tz) : null;
        slot.set(epoch);
        if (dispatches(block)) fire(ctx, block, element, { selected: epoch });
      });
      return input;
    }
    case "plain_text_input":
    case "email_text_input":
    case "url_text_input":
    case "number_input": {
      const slot = stateSlot(ctx, block, element);
      const type = { email_text_input: "email", url_text_input: "url", number_input: "number" }[element.type] || "text";
      const attrs = { ...common, class: "bk-input", id, placeholder: plainText(element.placeholder) || undefined,
        maxlength: element.max_length || undefined, value: slot.get() ?? "" };
      const input = element.multiline ? h(ctx, "textarea", { ...attrs, rows: 4 }) : h(ctx, "input", { ...attrs, type });
      input.addEventListener("input", () => slot.set(input.value === "" ? null : input.value));
      return input;
    }
    case "image":
      return renderImage(element, ctx, "bk-image-element");
    default:
      return h(ctx, "span", { class: "bk-unsupported" }, `[${element.type}]`);
  }
}

// The sandbox never loads anything from the internet: outside images become a labelled placeholder.
function renderImage(obj, ctx, cls) {
  const url = String(obj.image_url || "");
  if (url.startsWith("data:") || url.startsWith("/")) {
    return h(ctx, "img", { class: cls, src: url, alt: obj.alt_text || "" });
  }
  return h(ctx, "span", { class: `${cls} bk-image-offline`, role: "img", "aria-label": obj.alt_text || "",
    title: url }, `🖼 ${obj.alt_text || "afbeelding"}`);
}

// ------------------------------------------------------------------------- blocks

function renderRichText(block, ctx) {
  const wrap = h(ctx, "div", { class: "bk-rich-text" });
  const inline = (elements) => (elements || []).map((el) => {
    if (el.type === "text") {
      let node = ctx.doc.createTextNode(el.text || "");
      const style = el.style || {};
      if (style.code) node = h(ctx, "code", {}, node);
      if (style.bold) node = h(ctx, "b", {}, node);
      if (style.italic) node = h(ctx, "i", {}, node);
      if (style.strike) node = h(ctx, "s", {}, node);
      return node;
    }
    if (el.type === "link") {
      const href = safeHref(el.url);
      return href ? h(ctx, "a", { href, target: "_blank", rel: "noopener noreferrer" }, el.text || el.url)
        : h(ctx, "span", {}, el.text || String(el.url ?? ""));
    }
    if (el.type === "user") return renderInline([{ type: "mention", user: el.user_id }], ctx)[0];
    if (el.type === "emoji") return ctx.doc.createTextNode(el.unicode ? String.fromCodePoint(parseInt(el.unicode, 16)) : `:${el.name}:`);
    return ctx.doc.createTextNode(el.text || "");
  });
  for (const section of block.elements || []) {
    if (section.type === "rich_text_list") {
      const list = h(ctx, section.style === "ordered" ? "ol" : "ul", {});
      for (const item of section.elements || []) list.appendChild(h(ctx, "li", {}, inline(item.elements)));
      wrap.appendChild(list);
    } else if (section.type === "rich_text_preformatted") {
      wrap.appendChild(h(ctx, "pre", {}, inline(section.elements)));
    } else if (section.type === "rich_text_quote") {
      wrap.appendChild(h(ctx, "blockquote", {}, inline(section.elements)));
    } else {
      wrap.appendChild(h(ctx, "div", { class: "bk-rich-section" }, inline(section.elements)));
    }
  }
  return wrap;
}

export function renderBlock(block, ctx) {
  const attrs = { class: `bk-block bk-${block.type}`, "data-block-id": block.block_id };
  switch (block.type) {
    case "header":
      return h(ctx, "div", attrs, h(ctx, "h3", {}, plainText(block.text)));
    case "section": {
      const body = h(ctx, "div", { class: "bk-section-body" });
      if (block.text) body.appendChild(h(ctx, "div", { class: "bk-section-text" }, renderText(block.text, ctx)));
      if (block.fields) {
        body.appendChild(h(ctx, "div", { class: "bk-fields" },
          block.fields.map((f) => h(ctx, "div", { class: "bk-field" }, renderText(f, ctx)))));
      }
      const node = h(ctx, "div", attrs, body);
      if (block.accessory) {
        node.appendChild(h(ctx, "div", { class: "bk-accessory" }, block.accessory.type === "image"
          ? renderImage(block.accessory, ctx, "bk-accessory-image") : renderElement(block.accessory, block, ctx)));
      }
      return node;
    }
    case "context":
      return h(ctx, "div", attrs, (block.elements || []).map((el) => (el.type === "image"
        ? renderImage(el, ctx, "bk-context-image") : h(ctx, "span", { class: "bk-context-item" }, renderText(el, ctx)))));
    case "divider":
      return h(ctx, "hr", attrs);
    case "image":
      return h(ctx, "figure", attrs,
        block.title ? h(ctx, "figcaption", {}, plainText(block.title)) : null,
        renderImage(block, ctx, "bk-image-block"));
    case "actions":
      return h(ctx, "div", attrs, (block.elements || []).map((el) => renderElement(el, block, ctx)));
    case "input": {
      const error = (ctx.errors || {})[block.block_id];
      const element = renderElement(block.element || {}, block, ctx);
      const label = h(ctx, "label", { class: "bk-label", for: element.id || undefined }, plainText(block.label),
        block.optional ? h(ctx, "span", { class: "bk-optional" }, " (optioneel)") : null);
      return h(ctx, "div", { ...attrs, class: `${attrs.class}${error ? " bk-has-error" : ""}` },
        label, element,
        block.hint ? h(ctx, "div", { class: "bk-hint" }, plainText(block.hint)) : null,
        error ? h(ctx, "div", { class: "bk-error", role: "alert" }, error) : null);
    }
    case "rich_text":
      return h(ctx, "div", attrs, renderRichText(block, ctx));
    case "markdown":
      return h(ctx, "div", attrs, renderMrkdwn(block.text, ctx));
    default:
      return h(ctx, "div", { ...attrs, class: "bk-block bk-unsupported" }, `[blok ${block.type}]`);
  }
}

export function renderBlocks(blocks, ctx) {
  return h(ctx, "div", { class: "bk-blocks" }, (blocks || []).map((b) => renderBlock(b, ctx)));
}

// What the sandbox sends for a message's elements when one of them is clicked: the local state,
// as {block_id: {action_id: raw}} (Slack's client does the same with state.values).
export function collectState(ctx) {
  return JSON.parse(JSON.stringify(ctx.state || {}));
}
