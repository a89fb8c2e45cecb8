// Unit tests for the sandbox's Block Kit renderer: every block and element type, and mrkdwn.
// Run: node --test bot/sandbox/web/tests/   (pytest runs this via tests/test_sandbox_renderer.py)
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { FakeDocument } from "./fakedom.mjs";
import {
  renderBlocks, renderMrkdwn, parseMrkdwn, formatSlackDate, unescapeEntities, safeHref,
} from "../blockkit.js";

const plain = (text) => ({ type: "plain_text", text });
const md = (text) => ({ type: "mrkdwn", text });
const opt = (text, value, description) => ({ text: plain(text), value, ...(description ? { description: plain(description) } : {}) });

function ctx(extra = {}) {
  const actions = [];
  return {
    doc: new FakeDocument(),
    users: { U0AF000001: { real_name: "Anna Jansen", name: "anna" } },
    channels: { C0CASES: { name: "mh-breda-casussen" } },
    tz: "Europe/Amsterdam",
    now: new Date("2027-03-25T12:00:00Z"),
    state: {},
    errors: {},
    onAction: (event) => actions.push(event),
    actions,
    ...extra,
  };
}
const render = (blocks, c = ctx()) => ({ root: renderBlocks(blocks, c), c });

// --------------------------------------------------------------------------- blocks

test("header renders its plain text as a heading", () => {
  const { root } = render([{ type: "header", block_id: "h", text: plain("Signaal S-2027-0001") }]);
  assert.equal(root.byTag("h3")[0].textContent, "Signaal S-2027-0001");
});

test("section renders text, fields and a button accessory that sends block_actions", () => {
  const { root, c } = render([{
    type: "section", block_id: "s1", text: md("*Status:* nieuw"),
    fields: [md("*Vorm*\nArbeidsuitbuiting"), md("*Acuut*\nNee")],
    accessory: { type: "button", action_id: "open", text: plain("Open"), value: "7" },
  }]);
  assert.equal(root.byTag("b")[0].textContent, "Status:");
  const fields = root.byClass("bk-field");
  assert.equal(fields.length, 2);
  assert.match(fields[0].textContent, /Vorm\s*Arbeidsuitbuiting/);
  const button = root.byTag("button")[0];
  assert.equal(button.textContent, "Open");
  button.dispatch("click");
  assert.equal(c.actions[0].element.action_id, "open");
  assert.equal(c.actions[0].value, "7");
  assert.equal(c.actions[0].block.block_id, "s1");
});

test("section accessory image becomes an offline placeholder (nothing loads from the internet)", () => {
  const { root } = render([{ type: "section", text: md("x"),
    accessory: { type: "image", image_url: "https://example.com/a.png", alt_text: "logo" } }]);
  assert.equal(root.byTag("img").length, 0);
  assert.match(root.byClass("bk-image-offline")[0].textContent, /logo/);
});

test("context renders text and image elements", () => {
  const { root } = render([{ type: "context", elements: [md("_klein_"), plain("tekst"),
    { type: "image", image_url: "data:image/png;base64,AA==", alt_text: "icoon" }] }]);
  assert.equal(root.byTag("i")[0].textContent, "klein");
  assert.match(root.textContent, /tekst/);
  assert.equal(root.byTag("img")[0].getAttribute("alt"), "icoon");
});

test("divider renders a rule", () => {
  const { root } = render([{ type: "divider" }]);
  assert.equal(root.byTag("hr").length, 1);
});

test("image block renders its title and the image (data: URLs only)", () => {
  const { root } = render([{ type: "image", title: plain("Kaart"), image_url: "data:image/png;base64,AA==",
    alt_text: "kaart" }]);
  assert.equal(root.byTag("figcaption")[0].textContent, "Kaart");
  assert.equal(root.byTag("img")[0].getAttribute("src"), "data:image/png;base64,AA==");
});

test("actions block: buttons keep their style, and a primary button is marked", () => {
  const { root, c } = render([{ type: "actions", block_id: "case:1", elements: [
    { type: "button", action_id: "case:claim", text: plain("Oppakken"), value: "1", style: "primary" },
    { type: "button", action_id: "case:close", text: plain("Sluiten"), value: "1", style: "danger" },
  ] }]);
  const [claim, close] = root.byTag("button");
  assert.ok(claim.classList.contains("bk-button-primary"));
  assert.ok(close.classList.contains("bk-button-danger"));
  close.dispatch("click");
  assert.equal(c.actions[0].element.action_id, "case:close");
});

test("button with a confirm dialog only fires when confirmed", async () => {
  let asked = 0;
  const c = ctx({ confirm: async () => { asked += 1; return asked > 1; } });
  const { root } = render([{ type: "actions", block_id: "a", elements: [{ type: "button", action_id: "del",
    text: plain("Verwijder"), confirm: { title: plain("Zeker?"), text: plain("Echt?"), confirm: plain("Ja"),
      deny: plain("Nee") } }] }], c);
  root.byTag("button")[0].dispatch("click");
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(c.actions.length, 0);
  root.byTag("button")[0].dispatch("click");
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(c.actions.length, 1);
});

test("static select lists options and option groups, and sends the chosen value", () => {
  const { root, c } = render([{ type: "actions", block_id: "q", elements: [{ type: "static_select",
    action_id: "triage:select", placeholder: plain("Kies een gemeente"),
    options: [opt("Breda", "Breda"), opt("Etten-Leur", "Etten-Leur")] }] }]);
  const select = root.byTag("select")[0];
  const labels = select.options.map((o) => o.textContent);
  assert.deepEqual(labels, ["Kies een gemeente", "Breda", "Etten-Leur"]);
  select.value = "Breda";
  select.dispatch("change");
  assert.equal(c.actions[0].selected, "Breda");
  assert.equal(c.state.q["triage:select"], "Breda");

  const grouped = render([{ type: "input", block_id: "g", label: plain("Partner"), element: {
    type: "static_select", action_id: "p", option_groups: [{ label: plain("Politie"), options: [opt("AVIM", "avim")] }],
  } }]).root;
  assert.equal(grouped.byTag("optgroup")[0].getAttribute("label"), "Politie");
});

test("multi static select keeps the chosen values", () => {
  const c = ctx();
  const { root } = render([{ type: "input", block_id: "m", label: plain("Partners"), element: {
    type: "multi_static_select", action_id: "ps", options: [opt("AVIM", "avim"), opt("ZoCo", "zoco")],
    initial_options: [opt("ZoCo", "zoco")] } }], c);
  const select = root.byTag("select")[0];
  assert.equal(select.multiple, true);
  assert.deepEqual(c.state.m.ps, ["zoco"]);
  select.options[0].selected = true;
  select.dispatch("change");
  assert.deepEqual(c.state.m.ps, ["avim", "zoco"]);
  assert.equal(c.actions.length, 0, "an input block without dispatch_action sends nothing until submit");
});

test("checkboxes show descriptions and send all ticked values in option order", () => {
  const { root, c } = render([{ type: "actions", block_id: "q:1:signals:0", elements: [{ type: "checkboxes",
    action_id: "triage:tick", options: [opt("Slechte omstandigheden", "conditions", "lage lonen"),
      opt("Afhankelijkheid", "dependency")] }] }]);
  const boxes = root.byTag("input");
  assert.equal(boxes[0].getAttribute("type"), "checkbox");
  assert.match(root.textContent, /lage lonen/);
  boxes[1].checked = true;
  boxes[1].dispatch("change");
  boxes[0].checked = true;
  boxes[0].dispatch("change");
  assert.deepEqual(c.actions.at(-1).selected, ["conditions", "dependency"]);
});

test("radio buttons select one value", () => {
  const c = ctx();
  const { root } = render([{ type: "input", block_id: "r", label: plain("Conclusie"), element: {
    type: "radio_buttons", action_id: "c", options: [opt("Geen mensenhandel", "geen"), opt("Wel", "wel")],
    initial_option: opt("Wel", "wel") } }], c);
  const radios = root.byTag("input");
  assert.equal(radios[0].getAttribute("type"), "radio");
  assert.equal(radios[1].checked, true);
  radios[0].checked = true;
  radios[0].dispatch("change");
  assert.equal(c.state.r.c, "geen");
});

test("overflow menu opens and sends the chosen option", () => {
  const { root, c } = render([{ type: "actions", block_id: "case:1", elements: [{ type: "overflow",
    action_id: "case:more", options: [opt("Tijdlijn", "timeline:1"), opt("Notitie", "note:1")] }] }]);
  const menu = root.byClass("bk-overflow-menu")[0];
  assert.equal(menu.hidden, true);
  root.byClass("bk-overflow-toggle")[0].dispatch("click");
  assert.equal(menu.hidden, false);
  root.byClass("bk-overflow-item")[1].dispatch("click");
  assert.equal(c.actions[0].selected, "note:1");
});

test("date picker (and time picker) hold ISO values", () => {
  const c = ctx();
  const { root } = render([
    { type: "input", block_id: "d", label: plain("Datum"), element: { type: "datepicker", action_id: "day",
      initial_date: "2027-04-01" } },
    { type: "input", block_id: "t", label: plain("Tijd"), element: { type: "timepicker", action_id: "at" } },
  ], c);
  const [date, time] = root.byTag("input");
  assert.equal(date.getAttribute("type"), "date");
  assert.equal(date.value, "2027-04-01");
  assert.equal(time.getAttribute("type"), "time");
  time.value = "14:00";
  time.dispatch("change");
  assert.equal(c.state.t.at, "14:00");
});

test("date-time picker shows local time in Amsterdam and holds Slack's Unix timestamp", () => {
  const c = ctx();
  const starts = Date.UTC(2027, 2, 25, 13, 0) / 1000; // 14:00 in Amsterdam (winter time)
  const { root } = render([
    { type: "input", block_id: "starts", label: plain("Begint"), element: { type: "datetimepicker",
      action_id: "value", initial_date_time: starts } },
    { type: "input", block_id: "ends", label: plain("Eindigt"), element: { type: "datetimepicker",
      action_id: "value" } },
  ], c);
  const [start, end] = root.byTag("input");
  assert.equal(start.getAttribute("type"), "datetime-local");
  assert.equal(start.value, "2027-03-25T14:00");
  assert.equal(c.state.starts.value, starts);
  assert.equal(end.value, "");
  end.value = "2027-04-01T16:30"; // summer time: 14:30 UTC
  end.dispatch("change");
  assert.equal(c.state.ends.value, Date.UTC(2027, 3, 1, 14, 30) / 1000);
  assert.equal(c.actions.length, 0);
});

test("input block: label, optional marker, hint, multiline text and an inline validation error", () => {
  const c = ctx({ errors: { answer: "Dit is te lang." } });
  const { root } = render([{ type: "input", block_id: "answer", optional: true, label: plain("Beschrijving"),
    hint: plain("Feiten, geen interpretatie"), element: { type: "plain_text_input", action_id: "value",
      multiline: true, max_length: 3000, placeholder: plain("Wat zag je?") } }], c);
  assert.match(root.byTag("label")[0].textContent, /Beschrijving \(optioneel\)/);
  assert.equal(root.byClass("bk-hint")[0].textContent, "Feiten, geen interpretatie");
  assert.equal(root.byClass("bk-error")[0].textContent, "Dit is te lang.");
  const area = root.byTag("textarea")[0];
  assert.equal(area.getAttribute("placeholder"), "Wat zag je?");
  area.value = "Twee mannen";
  area.dispatch("input");
  assert.equal(c.state.answer.value, "Twee mannen");
});

test("an input with dispatch_action sends block_actions", () => {
  const { root, c } = render([{ type: "input", block_id: "x", dispatch_action: true, label: plain("Kies"),
    element: { type: "static_select", action_id: "k", options: [opt("A", "a")] } }]);
  const select = root.byTag("select")[0];
  select.value = "a";
  select.dispatch("change");
  assert.equal(c.actions[0].selected, "a");
});

test("rich_text blocks (messages typed by people) render their text", () => {
  const { root } = render([{ type: "rich_text", elements: [{ type: "rich_text_section",
    elements: [{ type: "text", text: "Ik zag " }, { type: "text", text: "dit", style: { bold: true } }] }] }]);
  assert.equal(root.textContent, "Ik zag dit");
  assert.equal(root.byTag("b")[0].textContent, "dit");
});

test("an unknown block type is shown as unsupported, not dropped silently", () => {
  const { root } = render([{ type: "video" }]);
  assert.match(root.textContent, /video/);
});

// --------------------------------------------------------------------------- mrkdwn

test("mrkdwn: bold, italics, strike and code", () => {
  const root = renderMrkdwn("*vet* _schuin_ ~weg~ `code`", ctx());
  assert.equal(root.byTag("b")[0].textContent, "vet");
  assert.equal(root.byTag("i")[0].textContent, "schuin");
  assert.equal(root.byTag("s")[0].textContent, "weg");
  assert.equal(root.byTag("code")[0].textContent, "code");
});

test("mrkdwn: formatting needs word boundaries (snake_case and 2*3*4 stay plain)", () => {
  const root = renderMrkdwn("a snake_case_name and 2*3*4", ctx());
  assert.equal(root.byTag("i").length, 0);
  assert.equal(root.byTag("b").length, 0);
  assert.equal(root.textContent, "a snake_case_name and 2*3*4");
});

test("mrkdwn: links with and without a label; only safe schemes become links", () => {
  const root = renderMrkdwn("<https://kijkopmensenhandel.nl|Kijk op mensenhandel> <https://x.nl> <javascript:alert(1)|klik>", ctx());
  const links = root.byTag("a");
  assert.equal(links.length, 2);
  assert.equal(links[0].getAttribute("href"), "https://kijkopmensenhandel.nl");
  assert.equal(links[0].textContent, "Kijk op mensenhandel");
  assert.equal(links[1].textContent, "https://x.nl");
  assert.match(root.textContent, /klik/);
});

// Schemes a message may carry that must never become a clickable link in the sandbox page.
const UNSAFE_URLS = ["javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "\tjavascript:alert(1)",
  "java\tscript:alert(1)", "java\nscript:alert(1)", "\u0001javascript:alert(1)", "javascript&#58;alert(1)",
  "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)", "tel:+31612345678", "file:///etc/passwd",
  "/api/reset", "//evil.example/x", "x"];

test("links: only http, https and mailto are safe, however the scheme is disguised", () => {
  for (const url of ["https://x.nl", "http://x.nl/a?b=c", "HTTPS://X.NL", "mailto:af@breda.example"]) {
    assert.equal(safeHref(url), url, url);
  }
  for (const url of [...UNSAFE_URLS, "", null, undefined]) assert.equal(safeHref(url), null, String(url));
});

test("mrkdwn: only http, https and mailto links become <a>; every other scheme stays text", () => {
  for (const url of UNSAFE_URLS) {
    const root = renderMrkdwn(`zie <${url}|hier> en <${url}>`, ctx());
    assert.equal(root.byTag("a").length, 0, url);
    assert.match(root.textContent, /hier/);
  }
  const root = renderMrkdwn("<mailto:af@breda.example|mail de AF> <http://x.nl>", ctx());
  assert.deepEqual(root.byTag("a").map((a) => a.getAttribute("href")), ["mailto:af@breda.example", "http://x.nl"]);
});

test("rich_text links (typed by people) become <a> only for http, https and mailto", () => {
  const link = (url) => ({ type: "rich_text", elements: [{ type: "rich_text_section",
    elements: [{ type: "link", url, text: "klik" }] }] });
  for (const url of UNSAFE_URLS) {
    const { root } = render([link(url)]);
    assert.equal(root.byTag("a").length, 0, url);
    assert.equal(root.textContent, "klik");
  }
  const { root } = render([link("https://x.nl/a")]);
  assert.equal(root.byTag("a")[0].getAttribute("href"), "https://x.nl/a");
});

test("mrkdwn: a date's link becomes <a> only for http, https and mailto", () => {
  const epoch = Date.parse("2027-03-25T13:30:00Z") / 1000;
  for (const url of UNSAFE_URLS.filter((u) => !/[|>\n]/.test(u))) {
    const root = renderMrkdwn(`<!date^${epoch}^{time}^${url}|14:30>`, ctx());
    assert.equal(root.byTag("a").length, 0, url);
    assert.equal(root.byTag("time")[0].textContent, "14:30");
  }
  const root = renderMrkdwn(`<!date^${epoch}^{time}^https://x.nl|14:30>`, ctx());
  assert.equal(root.byTag("a")[0].getAttribute("href"), "https://x.nl");
});

test("mrkdwn: user mentions show names, channel mentions their name", () => {
  const root = renderMrkdwn("<@U0AF000001> in <#C0CASES> en <@U0UNKNOWN>", ctx());
  const mentions = root.byClass("bk-mention");
  assert.equal(mentions[0].textContent, "@Anna Jansen");
  assert.equal(mentions[1].textContent, "#mh-breda-casussen");
  assert.equal(mentions[2].textContent, "@U0UNKNOWN");
});

test("mrkdwn: dates are shown in the reader's local time, with the fallback as tooltip", () => {
  const epoch = Date.parse("2027-03-25T13:30:00Z") / 1000; // 14:30 in Amsterdam (CET)
  const root = renderMrkdwn(`<!date^${epoch}^{date_short_pretty} {time}|25-03-2027 14:30>`, ctx());
  const node = root.byTag("time")[0];
  assert.equal(node.textContent, "vandaag 14:30");
  assert.equal(node.getAttribute("title"), "25-03-2027 14:30");
  assert.equal(formatSlackDate(epoch, "{date_num}", "Europe/Amsterdam"), "2027-03-25");
  assert.equal(formatSlackDate(epoch + 86400, "{date_short_pretty}", "Europe/Amsterdam",
    new Date("2027-03-25T12:00:00Z")), "morgen");
  assert.equal(formatSlackDate(Date.parse("2027-07-01T07:05:00Z") / 1000, "{date_long} {time}",
    "Europe/Amsterdam"), "donderdag 1 juli 2027 09:05");
});

test("mrkdwn: entities are unescaped for display only, and never become markup", () => {
  const root = renderMrkdwn("&lt;script&gt;alert(1)&lt;/script&gt; &amp; <b>", ctx());
  assert.equal(root.byTag("script").length, 0);
  assert.equal(root.byTag("b").length, 0);
  assert.match(root.textContent, /<script>alert\(1\)<\/script> &/);
  assert.equal(unescapeEntities("&amp;lt;"), "&lt;");
});

test("mrkdwn: block quotes (escaped > too), line breaks and preformatted text", () => {
  const parsed = parseMrkdwn("Beschrijving\n&gt; regel 1\n&gt; regel 2\n```a *b*```");
  assert.deepEqual(parsed.map((p) => p.type), ["para", "quote", "pre"]);
  const root = renderMrkdwn("een\ntwee\n&gt; citaat", ctx());
  assert.equal(root.byTag("br").length, 1);
  assert.equal(root.byTag("blockquote")[0].textContent, "citaat");
});

test("the renderer never uses innerHTML", () => {
  for (const file of ["../blockkit.js", "../app.js"]) {
    const source = readFileSync(new URL(file, import.meta.url), "utf8");
    assert.ok(!/\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML\(|document\.write\(/.test(source), file);
  }
});
