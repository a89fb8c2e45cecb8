// Unit tests for the Teams sandbox's Adaptive Card renderer: each element and action type it knows,
// text as text, mentions, inputs as Teams sends them, required inputs, ShowCard scopes.
// Run: node --test bot/sandbox/web/tests/   (pytest runs this via tests/test_sandbox_renderer.py)
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { FakeDocument } from "./fakedom.mjs";
import { renderCard, parseTextBlock, KNOWN_TYPES, KNOWN_ELEMENTS, KNOWN_ACTIONS } from "../adaptivecards.js";

function ctx(extra = {}) {
  const clicks = [];
  return { doc: new FakeDocument(), values: {}, open: {}, onAction: (e) => clicks.push(e), clicks, ...extra };
}
const card = (body, actions, msteams) => ({ type: "AdaptiveCard", version: "1.5", body, ...(actions ? { actions } : {}), ...(msteams ? { msteams } : {}) });
const buttons = (root) => root.byTag("button");
const click = (node) => node.dispatch("click");

test("text blocks, rich text, fact sets, containers and columns are drawn as text", () => {
  const c = ctx();
  const root = renderCard(card([
    { type: "TextBlock", text: "**Nieuw** signaal <script>x</script>", weight: "Bolder", color: "Attention" },
    { type: "RichTextBlock", inlines: [{ type: "TextRun", text: "<b>getypt</b> **geen** markdown" }] },
    { type: "FactSet", facts: [{ title: "Status", value: "Nieuw" }] },
    { type: "Container", items: [{ type: "TextBlock", text: "binnen" }] },
    { type: "ColumnSet", columns: [{ type: "Column", items: [{ type: "TextBlock", text: "kolom" }] }] },
    { type: "Image", url: "https://example.com/x.png", altText: "grafiek" },
  ]), c);
  const text = root.textContent;
  assert.match(text, /Nieuw signaal <script>x<\/script>/);
  assert.equal(root.byTag("strong")[0].textContent, "Nieuw");
  assert.match(text, /<b>getypt<\/b> \*\*geen\*\* markdown/); // a TextRun is exactly what was typed
  assert.equal(root.byTag("th")[0].textContent, "Status");
  assert.match(text, /binnen/);
  assert.match(text, /kolom/);
  assert.equal(root.byTag("img").length, 0); // never loaded from the internet: its alt text
  assert.match(text, /grafiek/);
  assert.equal(root.byClass("ac-unknown").length, 0);
  assert.ok(root.byClass("ac-color-attention").length);
});

test("a mention the entities name is drawn as one; another <at> stays literal", () => {
  const root = renderCard(card([{ type: "TextBlock", text: "<at>Anna Jansen</at> en <at>Niemand</at>" }], null,
    { entities: [{ type: "mention", text: "<at>Anna Jansen</at>", mentioned: { id: "abc", name: "Anna Jansen" } }] }), ctx());
  assert.equal(root.byClass("ac-mention")[0].textContent, "Anna Jansen");
  assert.match(root.textContent, /<at>Niemand<\/at>/);
});

test("only http, https and mailto links become links", () => {
  assert.deepEqual(parseTextBlock("zie [hier](https://x.nl)").map((p) => p.type), ["text", "link"]);
  const root = renderCard(card([{ type: "TextBlock", text: "[a](javascript:alert(1)) [b](https://x.nl)" }],
    [{ type: "Action.OpenUrl", title: "Open", url: "javascript:alert(1)" }]), ctx());
  const links = root.byTag("a");
  assert.equal(links.length, 1);
  assert.equal(links[0].getAttribute("href"), "https://x.nl");
});

test("Action.Execute sends its inputs as Teams merges them: text, choice, multi, date, toggle", () => {
  const c = ctx({ values: { answer: "kept" } });
  const root = renderCard(card([
    { type: "Input.Text", id: "answer", isMultiline: true, label: "Beschrijving" },
    { type: "Input.ChoiceSet", id: "one", style: "compact", choices: [{ title: "A", value: "a" }, { title: "B", value: "b" }], value: "b" },
    { type: "Input.ChoiceSet", id: "many", isMultiSelect: true, choices: [{ title: "X", value: "x" }, { title: "Y", value: "y" }] },
    { type: "Input.Date", id: "when" },
    { type: "Input.Toggle", id: "share", title: "Delen", valueOn: "true", valueOff: "false" },
  ], [{ type: "Action.Execute", title: "Volgende", verb: "answer", data: { s: 1 } }]), c);
  assert.equal(root.byTag("textarea")[0].value, "kept"); // what was typed survives a redraw
  const [yBox] = root.findAll((n) => n.tagName === "INPUT" && n.type === "checkbox").slice(1, 2);
  yBox.checked = true;
  yBox.dispatch("change");
  const toggle = root.findAll((n) => n.tagName === "INPUT" && n.type === "checkbox").at(-1);
  toggle.checked = true;
  toggle.dispatch("change");
  const date = root.findAll((n) => n.tagName === "INPUT" && n.type === "date")[0];
  date.value = "2027-01-31";
  date.dispatch("change");
  click(buttons(root)[0]);
  assert.equal(c.clicks.length, 1);
  assert.deepEqual(c.clicks[0].data, { answer: "kept", one: "b", many: "y", when: "2027-01-31", share: "true" });
  assert.deepEqual(c.clicks[0].path, ["actions", 0]);
  assert.equal(c.clicks[0].action.verb, "answer");
});

test("an empty required input is not sent: its error message shows", () => {
  const c = ctx();
  const root = renderCard(card([{ type: "Input.Text", id: "answer", isRequired: true, errorMessage: "Vul dit in." }],
    [{ type: "Action.Execute", title: "Volgende", verb: "answer" }]), c);
  click(buttons(root)[0]);
  assert.equal(c.clicks.length, 0);
  assert.equal(root.byClass("ac-error")[0].hidden, false);
});

test("Action.ShowCard opens its card; its action carries its own and the outer card's inputs only", () => {
  const c = ctx();
  const root = renderCard(card([{ type: "Input.Text", id: "outer", value: "o" }], [
    { type: "Action.ShowCard", title: "Conclusie", card: { type: "AdaptiveCard", body: [
      { type: "Input.Text", id: "inner", value: "i" }, { type: "ActionSet", actions: [{ type: "Action.Execute", title: "Opslaan", verb: "case.conclude" }] },
    ] } },
    { type: "Action.ShowCard", title: "Ander", card: { type: "AdaptiveCard", body: [{ type: "Input.Text", id: "other", isRequired: true }],
      actions: [{ type: "Action.Execute", title: "Nee", verb: "x" }] } },
    { type: "Action.Execute", title: "Oppakken", verb: "case.claim" },
  ]), c);
  const sub = root.byClass("ac-showcard")[0];
  assert.equal(sub.hidden, true);
  click(buttons(root).find((b) => b.textContent === "Conclusie"));
  assert.equal(sub.hidden, false);
  assert.equal(c.open[JSON.stringify(["actions", 0])], true); // stays open across redraws
  click(buttons(root).find((b) => b.textContent === "Opslaan"));
  assert.deepEqual(c.clicks[0].data, { outer: "o", inner: "i" });
  assert.deepEqual(c.clicks[0].path, ["actions", 0, "card", "body", 1, "actions", 0]);
  click(buttons(root).find((b) => b.textContent === "Oppakken")); // the other ShowCard's required input is not its
  assert.deepEqual(c.clicks[1].data, { outer: "o" });
});

test("an unknown element says so instead of vanishing; a fallback is used", () => {
  const root = renderCard(card([{ type: "Media" }, { type: "Table", fallback: { type: "TextBlock", text: "tabel" } },
    { type: "Carousel", fallback: "drop" }]), ctx());
  assert.equal(root.byClass("ac-unknown").length, 1);
  assert.match(root.textContent, /tabel/);
});

test("every known type is drawn without the unknown marker", () => {
  for (const type of KNOWN_ELEMENTS) {
    const root = renderCard(card([{ type, id: "x", text: "t", choices: [], items: [], columns: [], actions: [], facts: [], inlines: [] }]), ctx());
    assert.equal(root.byClass("ac-unknown").length, 0, type);
  }
  for (const type of KNOWN_ACTIONS) {
    const root = renderCard(card([], [{ type, title: "t", card: { type: "AdaptiveCard", body: [] } }]), ctx());
    assert.equal(root.byClass("ac-unknown").length, 0, type);
  }
  assert.ok(KNOWN_TYPES.includes("Action.Execute") && KNOWN_TYPES.includes("TextRun"));
});

test("the renderer and the Teams client never use innerHTML", () => {
  for (const file of ["../adaptivecards.js", "../teams.js"]) {
    const source = readFileSync(new URL(file, import.meta.url), "utf8");
    assert.ok(!/\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML\(|document\.write\(/.test(source), file);
  }
});
