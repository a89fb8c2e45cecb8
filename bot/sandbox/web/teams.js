// The Teams sandbox's client: who am I, the chats (the bot's 1:1 chat, Breda's case channel), their
// activities with Adaptive Cards, the composer, clock and reset. Everything the person does goes to the
// sandbox's JSON API, which turns it into the activity Teams would send the bot.
import { renderCard } from "/static/adaptivecards.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 600;
const UI_LANGUAGE = encodeURIComponent(document.documentElement.lang || "nl");
const TZ = "Europe/Amsterdam";

const ui = {
  me: new URLSearchParams(location.search).get("as") || localStorage.getItem("sandbox.teams.me") || "",
  chat: null, // the chat or channel shown
  data: null,
  version: null,
  cards: {}, // activity key → {values, open}: what was entered in a card, kept across redraws
  asked: 0,
  shown: 0,
};

// ------------------------------------------------------------------------- API

async function api(path, body) {
  const resp = await fetch(path, {
    method: body === undefined ? "GET" : "POST",
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok || data.ok === false) throw new Error(data.error || `HTTP ${resp.status}`);
  return data;
}

async function act(path, body) {
  try {
    const result = await api(path, body);
    await refresh(true);
    setTimeout(() => refresh(), 250);
    return result;
  } catch (err) {
    toast(err.message);
    return null;
  }
}

function toast(text, kind = "error") {
  const node = $("toast");
  node.textContent = text;
  node.className = `toast ${kind}`;
  node.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { node.hidden = true; }, 4000);
}

function el(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function initials(name) {
  return (name || "?").split(/\s+/).map((p) => p[0]).join("").slice(0, 2).toUpperCase();
}

function when(iso) {
  return new Intl.DateTimeFormat("nl-NL", { timeZone: TZ, day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" })
    .format(new Date(iso));
}

function person(id) { return (ui.data?.people || []).find((p) => p.id === id); }

// ------------------------------------------------------------------------- rendering

function renderActivity(item) {
  const mine = item.from !== "bot";
  const name = mine ? person(item.from)?.name || item.from : "Signaalbot";
  const body = el("div", "act-body", el("div", "act-meta", el("span", "name", name), when(item.time)));
  if (item.card) {
    const state = ui.cards[item.key] || (ui.cards[item.key] = { values: {}, open: {} });
    body.append(renderCard(item.card, {
      doc: document, values: state.values, open: state.open,
      people: (ui.data.people || []).map((p) => ({ value: p.entra_id, title: p.name })),
      onAction: async ({ path, data }) => {
        const result = await act("/api/click", {
          user: ui.me, conversation: item.conversation, activity: item.id, path, inputs: data,
        });
        answered(result);
      },
    }));
    // What Teams shows as the notification: never case content (docs/teams.md).
    if (item.summary) body.append(el("div", "act-preview", `Melding: ${item.summary}`));
  } else {
    body.append(el("div", "bubble", item.text)); // a person's own text: as text, never markup
    // The message extension, as in Teams' "…" menu on a message: it opens the bot's dialog.
    const more = el("button", "act-more", "… Meld als signaal");
    more.type = "button";
    more.addEventListener("click", async () => {
      answered(await act("/api/from_message", { user: ui.me, conversation: item.conversation, activity: item.id }));
    });
    body.append(more);
  }
  const row = el("div", `act${mine ? " mine" : ""}`, el("div", `avatar${mine ? "" : " bot"}`, mine ? initials(name) : "SB"), body);
  row.dataset.id = item.id;
  return row;
}

// What the bot answered to an invoke: a dialog to show (drawn from the state), or a short text.
function answered(result) {
  if (result && result.message) toast(result.message, "info");
}

function renderDialog() {
  const shown = ui.data.dialog;
  $("dialog").hidden = !shown;
  if (!shown) return;
  if (ui.dialogKey === shown.key && $("dialog-body").childNodes.length) return; // keep what is being typed
  ui.dialogKey = shown.key;
  $("dialog-title").textContent = shown.title || "Signaalbot";
  const state = ui.cards[`dialog:${shown.key}`] || (ui.cards[`dialog:${shown.key}`] = { values: {}, open: {} });
  $("dialog-body").replaceChildren(renderCard(shown.card, {
    doc: document, values: state.values, open: state.open,
    onAction: async ({ path, data }) => answered(await act("/api/dialog", { user: ui.me, path, inputs: data })),
  }));
  $("dialog-body").scrollTop = 0;
}

function renderMessages() {
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  const items = ui.data.activities[ui.chat.id] || [];
  const ids = new Set(items.map((i) => i.id));
  const replies = {};
  for (const item of items) {
    if (item.reply_to && ids.has(item.reply_to)) (replies[item.reply_to] = replies[item.reply_to] || []).push(item);
  }
  box.replaceChildren();
  for (const item of items) {
    if (item.reply_to && ids.has(item.reply_to)) continue;
    box.append(renderActivity(item));
    if (replies[item.id]) box.append(el("div", "replies", ...replies[item.id].map(renderActivity)));
  }
  if (atBottom || ui.jump) box.scrollTop = box.scrollHeight;
  ui.jump = false;
}

function renderSidebar() {
  const select = $("person");
  if (select.options.length !== ui.data.people.length) {
    select.replaceChildren(...ui.data.people.map((p) => {
      const option = el("option", null, `${p.name} — ${p.role}`);
      option.value = p.id;
      return option;
    }));
  }
  select.value = ui.me;
  $("person-role").textContent = person(ui.me)?.role || "";
  $("chats").replaceChildren(...ui.data.chats.map((chat) => {
    const button = el("button", chat.id === ui.chat.id ? "active" : "", chat.kind === "channel" ? `# ${chat.name}` : `💬 ${chat.name}`);
    button.type = "button";
    button.dataset.chat = chat.id;
    button.addEventListener("click", () => { ui.chat = chat; ui.jump = true; render(); });
    return el("li", null, button);
  }));
  $("notices").replaceChildren(...ui.data.notices.map((n) => el("div", null, n)));
}

function renderClock() {
  const c = ui.data.clock;
  $("clock-now").textContent = new Intl.DateTimeFormat("nl-NL", {
    timeZone: TZ, weekday: "long", day: "numeric", month: "long", year: "numeric", hour: "2-digit", minute: "2-digit",
  }).format(new Date(c.now));
  $("clock-now").title = c.offset_seconds > 60 ? "De klok van de bot loopt voor op de echte tijd" : "";
  const report = ui.data.job_report;
  $("jobs-text").textContent = [report.title, ...report.lines].join("\n");
  $("jobs-close").setAttribute("aria-label", report.close);
  $("jobs-close").title = report.close;
}

function render() {
  if (!ui.chat || !ui.data.chats.some((c) => c.id === ui.chat.id)) ui.chat = ui.data.chats[0];
  renderSidebar();
  $("pane-title").textContent = ui.chat.kind === "channel" ? `# ${ui.chat.name}` : `${ui.chat.name} (chat)`;
  const channel = ui.chat.kind === "channel";
  $("composer").hidden = channel;
  $("channel-note").hidden = !channel;
  renderMessages();
  renderDialog();
  document.body.dataset.me = ui.me; // drawn for this person (tests wait for it after switching)
}

async function refresh(force = false) {
  if (!ui.me) return;
  const seq = ++ui.asked;
  try {
    const data = await api(`/api/state?user=${encodeURIComponent(ui.me)}&lang=${UI_LANGUAGE}`);
    if (seq < ui.shown || data.me !== ui.me) return; // never draw an older state over a newer one
    ui.shown = seq;
    const changed = force || data.version !== ui.version;
    ui.data = data;
    ui.version = data.version;
    renderClock();
    if (changed) render();
  } catch (err) {
    toast(`Geen verbinding met de sandbox: ${err.message}`);
  }
}

// ------------------------------------------------------------------------- wiring

function wire() {
  $("person").addEventListener("change", (e) => {
    ui.me = e.target.value;
    localStorage.setItem("sandbox.teams.me", ui.me);
    ui.chat = null;
    ui.jump = true;
    refresh(true);
  });
  $("composer").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $("composer-input");
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    ui.jump = true;
    await act("/api/compose", { user: ui.me, text });
  });
  for (const button of document.querySelectorAll("[data-clock]")) {
    button.addEventListener("click", async () => {
      const result = await act("/api/clock", { op: button.dataset.clock });
      if (result) $("jobs").hidden = false;
    });
  }
  $("clock-go").addEventListener("click", async () => {
    const at = $("clock-at").value;
    if (!at) return toast("Kies eerst een moment.");
    const result = await act("/api/clock", { op: "at", at });
    if (result) $("jobs").hidden = false;
  });
  $("jobs").addEventListener("click", () => { $("jobs").hidden = true; });
  $("dialog-close").addEventListener("click", () => act("/api/dialog/close", { user: ui.me }));
  $("reset").addEventListener("click", async () => {
    if (!window.confirm("Alles wissen en de demo opnieuw beginnen?")) return;
    ui.cards = {};
    ui.chat = null;
    $("jobs").hidden = true;
    await act("/api/reset", {});
  });
}

async function main() {
  wire();
  let first = ui.me ? await api(`/api/state?user=${encodeURIComponent(ui.me)}`).catch(() => null) : null;
  if (!first) first = await api("/api/state");
  ui.me = first.me;
  await refresh(true);
  setInterval(() => refresh(), POLL_MS);
}

main();
