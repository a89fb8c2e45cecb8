// The sandbox's chat client: who am I, sidebar, messages, threads, ephemerals, App Home, modals,
// composer, clock and reset. Everything the user does goes to the sandbox's JSON API, which turns it
// into what Slack would send the bot.
import { renderBlocks, renderMrkdwn, formatSlackDate } from "/static/blockkit.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 600;
// The UI's language (the page's lang): the sandbox says the clock's job report in it.
const UI_LANGUAGE = encodeURIComponent(document.documentElement.lang || "nl");

const ui = {
  me: new URLSearchParams(location.search).get("as") || localStorage.getItem("sandbox.me") || "",
  pane: null, // {kind: "channel", id} | {kind: "home"}
  thread: null, // {channel, ts}
  data: null,
  version: null,
  localState: {}, // per message/view key: {block_id: {action_id: raw}}
  seen: {}, // `${me}:${channel}` → newest ts seen
  modalKey: null,
  busy: false,
  asked: 0, // state requests sent
  shown: 0, // the newest state request drawn
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

function toast(text) {
  const node = $("toast");
  node.textContent = text;
  node.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { node.hidden = true; }, 6000);
}

// ------------------------------------------------------------------------- helpers

function usersMap() { return ui.data ? ui.data.users : {}; }
function channelsMap() {
  return Object.fromEntries((ui.data?.channels || []).map((c) => [c.id, c]));
}
function dmChannel() { return (ui.data?.channels || []).find((c) => c.kind === "dm"); }

function ctxFor(key, extra) {
  if (!ui.localState[key]) ui.localState[key] = {};
  return {
    doc: document,
    users: usersMap(),
    channels: channelsMap(),
    tz: "Europe/Amsterdam",
    now: ui.data ? new Date(ui.data.clock.now) : new Date(),
    state: ui.localState[key],
    errors: {},
    confirm: confirmDialog,
    ...extra,
  };
}

function when(message) {
  const iso = message.sandbox_time;
  const epoch = iso ? Date.parse(iso) / 1000 : Number(message.ts);
  return formatSlackDate(Math.floor(epoch), "{date_short_pretty} {time}", "Europe/Amsterdam",
    ui.data ? new Date(ui.data.clock.now) : new Date());
}

function initials(name) {
  return (name || "?").split(/\s+/).map((p) => p[0]).join("").slice(0, 2).toUpperCase();
}

// view.state.values (Slack's shape) → raw values, so a re-rendered modal keeps what was entered.
function rawFromState(values) {
  const out = {};
  for (const [blockId, actions] of Object.entries(values || {})) {
    out[blockId] = {};
    for (const [actionId, s] of Object.entries(actions)) {
      let raw = null;
      if ("value" in s) raw = s.value;
      else if ("selected_option" in s) raw = s.selected_option ? s.selected_option.value : null;
      else if ("selected_options" in s) raw = (s.selected_options || []).map((o) => o.value);
      else if ("selected_date" in s) raw = s.selected_date;
      else if ("selected_time" in s) raw = s.selected_time;
      else if ("selected_date_time" in s) raw = s.selected_date_time;
      else if ("selected_user" in s) raw = s.selected_user;
      else if ("selected_users" in s) raw = s.selected_users;
      out[blockId][actionId] = raw;
    }
  }
  return out;
}

function confirmDialog(confirm) {
  const text = (o) => (o ? o.text : "");
  return Promise.resolve(window.confirm(`${text(confirm.title)}\n\n${text(confirm.text)}`));
}

// ------------------------------------------------------------------------- rendering

function renderMessage(message, channelId, { inThread = false } = {}) {
  const users = usersMap();
  const isBot = Boolean(message.bot_id) || message.user === ui.data.bot_user_id;
  const author = isBot ? "Signaalbot" : users[message.user]?.real_name || message.user;
  const key = `${message.ts}:${message.edited ? message.edited.ts : ""}`;
  const ctx = ctxFor(key, {
    surface: "message",
    onAction: ({ block, element, value, selected }) => act("/api/click", {
      user: ui.me, ts: message.ts, action_id: element.action_id, block_id: block.block_id,
      value, selected, values: ui.localState[key],
    }),
  });
  const body = document.createElement("div");
  body.className = "msg-body";
  const meta = document.createElement("div");
  meta.className = "msg-meta";
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = author;
  meta.appendChild(name);
  if (isBot) {
    const app = document.createElement("span");
    app.className = "app";
    app.textContent = "APP";
    meta.appendChild(app);
  }
  meta.appendChild(document.createTextNode(when(message)));
  body.appendChild(meta);
  if (message.is_ephemeral) {
    const note = document.createElement("div");
    note.className = "ephemeral-note";
    note.textContent = "Alleen zichtbaar voor jou";
    body.appendChild(note);
  }
  if (message.blocks && message.blocks.length) body.appendChild(renderBlocks(message.blocks, ctx));
  else body.appendChild(renderMrkdwn(message.text || "", ctx));
  for (const file of message.files || []) {
    // A shared file (files_upload_v2): images are shown, anything else as its title.
    if ((file.mimetype || "").startsWith("image/")) {
      const img = document.createElement("img");
      img.className = "msg-file";
      img.src = `/api/file/${encodeURIComponent(file.id)}?user=${encodeURIComponent(ui.me)}`;
      img.alt = file.alt_txt || file.title || file.name;
      img.title = file.title || file.name;
      body.appendChild(img);
    } else {
      const name = document.createElement("div");
      name.className = "msg-file-name";
      name.textContent = `📎 ${file.title || file.name}`;
      body.appendChild(name);
    }
  }
  if (message.edited) {
    const edited = document.createElement("span");
    edited.className = "edited";
    edited.textContent = "(bewerkt)";
    body.appendChild(edited);
  }
  if (!isBot && !message.is_ephemeral) {
    // Slack's ⋯ menu on a person's message, with the app's message shortcut (slack-app-manifest.yaml).
    const report = document.createElement("button");
    report.type = "button";
    report.className = "msg-shortcut";
    report.textContent = "⋯ Meld als signaal";
    report.title = "Berichtsnelkoppeling van Signaalbot";
    report.addEventListener("click", () => act("/api/shortcut", {
      user: ui.me, callback_id: "signal_from_message", ts: message.ts,
    }));
    body.appendChild(report);
  }
  if (!inThread && message.reply_count) {
    const link = document.createElement("button");
    link.type = "button";
    link.className = "thread-link";
    link.textContent = message.reply_count === 1 ? "1 antwoord" : `${message.reply_count} antwoorden`;
    link.addEventListener("click", () => openThread(channelId, message.ts));
    body.appendChild(link);
  }
  const row = document.createElement("div");
  row.className = `msg${message.is_ephemeral ? " ephemeral" : ""}`;
  row.dataset.ts = message.ts;
  const avatar = document.createElement("div");
  avatar.className = `avatar${isBot ? " bot" : ""}`;
  avatar.textContent = isBot ? "SB" : initials(author);
  row.append(avatar, body);
  return row;
}

// Which overflow menus (⋯) are open in a container, so a re-render (any new message) keeps them open.
function openMenus(container) {
  return Array.from(container.querySelectorAll(".bk-overflow-menu:not([hidden])")).map((menu) => {
    const overflow = menu.closest(".bk-overflow");
    return `.msg[data-ts="${menu.closest(".msg")?.dataset.ts}"] [data-block-id="${
      overflow.closest("[data-block-id]")?.dataset.blockId}"] .bk-overflow[data-action-id="${overflow.dataset.actionId}"]`;
  });
}

function renderList(container, items, channelId, options) {
  const atBottom = container.scrollHeight - container.scrollTop - container.clientHeight < 40;
  const menus = openMenus(container);
  container.replaceChildren(...items.map((m) => renderMessage(m, channelId, options)));
  for (const selector of menus) {
    const menu = container.querySelector(`${selector} .bk-overflow-menu`);
    if (menu) menu.hidden = false;
  }
  if (atBottom || options?.scrollToEnd) container.scrollTop = container.scrollHeight;
}

function channelItems(channelId) {
  const messages = (ui.data.messages[channelId] || []).filter((m) => !m.thread_ts || m.thread_ts === m.ts);
  const ephemerals = ui.data.ephemerals.filter((e) => e.channel === channelId && !e.thread_ts);
  return [...messages, ...ephemerals].sort((a, b) => Number(a.ts) - Number(b.ts));
}

function threadItems(channelId, ts) {
  const messages = (ui.data.messages[channelId] || []).filter((m) => m.ts === ts || m.thread_ts === ts);
  const ephemerals = ui.data.ephemerals.filter((e) => e.channel === channelId && e.thread_ts === ts);
  return [...messages, ...ephemerals].sort((a, b) => Number(a.ts) - Number(b.ts));
}

function newestTs(channelId) {
  const all = (ui.data.messages[channelId] || []).map((m) => Number(m.ts));
  return all.length ? Math.max(...all) : 0;
}

function renderSidebar() {
  const people = $("person");
  if (!people.options.length) {
    for (const p of ui.data.people) {
      const option = document.createElement("option");
      option.value = p.id;
      option.textContent = `${p.name} — ${p.role}`;
      people.appendChild(option);
    }
  }
  people.value = ui.me;
  $("person-role").textContent = ui.data.people.find((p) => p.id === ui.me)?.role || "";
  const item = (label, active, onClick, attrs = {}, unread = 0) => {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    if (active) button.classList.add("active");
    if (unread) {
      button.classList.add("unread");
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = String(unread);
      button.appendChild(badge);
    }
    for (const [k, v] of Object.entries(attrs)) button.setAttribute(k, v);
    button.addEventListener("click", onClick);
    li.appendChild(button);
    return li;
  };
  const unreadIn = (c) => {
    const seen = ui.seen[`${ui.me}:${c.id}`] || 0;
    return (ui.data.messages[c.id] || []).filter((m) => Number(m.ts) > seen && (!m.thread_ts || m.thread_ts === m.ts)
      && m.user !== ui.me).length;
  };
  const channels = ui.data.channels.filter((c) => c.kind !== "dm");
  $("channels").replaceChildren(...channels.map((c) => item(`${c.kind === "private" ? "🔒" : "#"} ${c.name}`,
    ui.pane?.kind === "channel" && ui.pane.id === c.id, () => showChannel(c.id), { "data-channel": c.id },
    ui.pane?.id === c.id ? 0 : unreadIn(c))));
  const dm = dmChannel();
  const inApp = ui.pane?.kind === "home" || (dm && ui.pane?.id === dm.id);
  $("apps").replaceChildren(item("🤖 Signaalbot", inApp, () => showChannel(dm.id), { "data-channel": dm?.id || "" },
    dm && ui.pane?.id !== dm.id ? unreadIn(dm) : 0));
  $("notices").replaceChildren(...ui.data.notices.map((n) => {
    const p = document.createElement("p");
    p.textContent = `ℹ️ ${n}`;
    return p;
  }));
}

function renderPane() {
  const dm = dmChannel();
  const inApp = ui.pane.kind === "home" || ui.pane.id === dm?.id;
  $("app-tabs").hidden = !inApp;
  for (const tab of document.querySelectorAll(".tab")) {
    tab.classList.toggle("active", (tab.dataset.tab === "home") === (ui.pane.kind === "home"));
  }
  $("home").hidden = ui.pane.kind !== "home";
  $("messages").hidden = ui.pane.kind === "home";
  $("composer").hidden = ui.pane.kind === "home";
  if (ui.pane.kind === "home") {
    $("pane-title").textContent = "Signaalbot";
    renderHome();
    return;
  }
  const channel = channelsMap()[ui.pane.id];
  if (!channel) {
    ui.pane = { kind: "channel", id: dm.id };
    return renderPane();
  }
  $("pane-title").textContent = channel.kind === "dm" ? "Signaalbot"
    : `${channel.kind === "private" ? "🔒" : "#"} ${channel.name}`;
  renderList($("messages"), channelItems(channel.id), channel.id);
  ui.seen[`${ui.me}:${channel.id}`] = newestTs(channel.id);
}

function renderHome() {
  const home = ui.data.home;
  if (!home) {
    const empty = document.createElement("div");
    empty.className = "home-empty";
    empty.textContent = "De bot heeft (nog) geen Home-tab voor je gepubliceerd.";
    $("home").replaceChildren(empty);
    return;
  }
  const key = `view:${home.id}:${home.hash}`;
  if (!ui.localState[key]) ui.localState[key] = rawFromState(home.state?.values);
  const ctx = ctxFor(key, {
    surface: "home",
    onAction: ({ block, element, value, selected }) => act("/api/view_action", {
      user: ui.me, view_id: home.id, action_id: element.action_id, block_id: block.block_id, value, selected,
    }),
  });
  $("home").replaceChildren(renderBlocks(home.blocks, ctx));
}

function renderThread() {
  if (!ui.thread) {
    $("thread").hidden = true;
    return;
  }
  const items = threadItems(ui.thread.channel, ui.thread.ts);
  if (!items.length) {
    ui.thread = null;
    $("thread").hidden = true;
    return;
  }
  $("thread").hidden = false;
  renderList($("thread-messages"), items, ui.thread.channel, { inThread: true, scrollToEnd: ui.thread.fresh });
  ui.thread.fresh = false;
}

function renderModal() {
  const overlay = $("modal-overlay");
  const modal = ui.data.modals[ui.data.modals.length - 1];
  if (!modal) {
    overlay.hidden = true;
    overlay.replaceChildren();
    ui.modalKey = null;
    return;
  }
  const key = `view:${modal.id}:${modal.hash}`;
  const renderKey = `${key}:${JSON.stringify(modal.errors || {})}`;
  if (ui.modalKey === renderKey) return; // unchanged: keep the DOM (and the cursor) as it is
  ui.modalKey = renderKey;
  if (!ui.localState[key]) ui.localState[key] = rawFromState(modal.state?.values);
  const ctx = ctxFor(key, {
    surface: "modal",
    errors: modal.errors || {},
    onAction: ({ block, element, value, selected }) => act("/api/view_action", {
      user: ui.me, view_id: modal.id, action_id: element.action_id, block_id: block.block_id, value, selected,
    }),
  });
  const box = document.createElement("form");
  box.className = "modal";
  box.setAttribute("role", "dialog");
  box.setAttribute("aria-modal", "true");
  box.setAttribute("aria-label", modal.title?.text || "Venster");
  const header = document.createElement("div");
  header.className = "modal-header";
  const title = document.createElement("h3");
  title.textContent = modal.title?.text || "";
  const x = document.createElement("button");
  x.type = "button";
  x.className = "close";
  x.setAttribute("aria-label", "Sluiten");
  x.textContent = "✕";
  x.addEventListener("click", () => act("/api/close", { user: ui.me, view_id: modal.id }));
  header.append(title, x);
  const body = document.createElement("div");
  body.className = "modal-body";
  body.appendChild(renderBlocks(modal.blocks, ctx));
  const footer = document.createElement("div");
  footer.className = "modal-footer";
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.textContent = modal.close?.text || "Annuleren";
  cancel.addEventListener("click", () => act("/api/close", { user: ui.me, view_id: modal.id }));
  footer.appendChild(cancel);
  if (modal.submit) {
    const submit = document.createElement("button");
    submit.type = "submit";
    submit.className = "submit";
    submit.textContent = modal.submit.text;
    footer.appendChild(submit);
  }
  box.addEventListener("submit", (event) => {
    event.preventDefault();
    act("/api/submit", { user: ui.me, view_id: modal.id, values: ui.localState[key] });
  });
  box.append(header, body, footer);
  overlay.replaceChildren(box);
  overlay.hidden = false;
  const first = box.querySelector("input, textarea, select");
  if (first) first.focus();
}

// The job report names people by Slack id (as the CLI does); the sandbox shows who that is.
function withNames(line) {
  const users = usersMap();
  return line.replace(/\bU[0-9A-Z]{6,}\b/g, (id) => (users[id] ? `${id} (${users[id].real_name})` : id));
}

function renderClock() {
  const c = ui.data.clock;
  const now = new Date(c.now);
  $("clock-now").textContent = formatSlackDate(Math.floor(now.getTime() / 1000), "{date_long} {time}",
    "Europe/Amsterdam", new Date(8.64e15));
  $("clock-now").title = c.offset_seconds > 60 ? "De klok van de bot loopt voor op de echte tijd" : "";
  $("transport").textContent = ui.data.transport === "socket" ? "Socket Mode" : "HTTP (ondertekend)";
  // What the last clock move ran (the lines of `signaalbot jobs run-due`, said in the UI's language by
  // the sandbox); never stale text.
  const report = ui.data.job_report;
  $("jobs-text").textContent = [report.title, ...report.lines.map(withNames)].join("\n");
  $("jobs-close").setAttribute("aria-label", report.close);
  $("jobs-close").title = report.close;
}

function render() {
  if (!ui.pane) ui.pane = { kind: "channel", id: dmChannel().id };
  renderSidebar();
  renderPane();
  renderThread();
  renderModal();
  document.body.dataset.me = ui.me; // drawn for this person (tests wait for it after switching)
}

// ------------------------------------------------------------------------- navigation

function showChannel(id) {
  ui.pane = { kind: "channel", id };
  ui.thread = null;
  render();
}

function openThread(channel, ts) {
  ui.thread = { channel, ts, fresh: true };
  renderThread();
  $("thread-input").focus();
}

async function showHome() {
  ui.pane = { kind: "home" };
  ui.thread = null;
  render();
  await act("/api/home", { user: ui.me });
}

async function refresh(force = false) {
  if (!ui.me) return;
  const seq = ++ui.asked;
  try {
    const data = await api(`/api/state?user=${encodeURIComponent(ui.me)}&lang=${UI_LANGUAGE}`);
    // A poll that was already on its way may answer after a newer one (or for the person before a
    // switch): never draw an older state over a newer one.
    if (seq < ui.shown || data.me !== ui.me) return;
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
    localStorage.setItem("sandbox.me", ui.me);
    ui.pane = null;
    ui.thread = null;
    ui.modalKey = null;
    refresh(true);
  });
  $("composer").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $("composer-input");
    const text = input.value;
    if (!text.trim() || ui.pane?.kind !== "channel") return;
    input.value = "";
    await act("/api/compose", { user: ui.me, channel: ui.pane.id, text });
  });
  $("thread-composer").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $("thread-input");
    const text = input.value;
    if (!text.trim() || !ui.thread) return;
    input.value = "";
    await act("/api/compose", { user: ui.me, channel: ui.thread.channel, text, thread_ts: ui.thread.ts });
  });
  $("thread-close").addEventListener("click", () => {
    ui.thread = null;
    renderThread();
  });
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => (tab.dataset.tab === "home" ? showHome() : showChannel(dmChannel().id)));
  }
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
  // The job report closes with its ✕ (or a click anywhere on it).
  $("jobs").addEventListener("click", () => { $("jobs").hidden = true; });
  $("reset").addEventListener("click", async () => {
    if (!window.confirm("Alles wissen en de demo opnieuw beginnen?")) return;
    ui.localState = {};
    ui.seen = {};
    ui.thread = null;
    ui.pane = null;
    $("jobs").hidden = true;
    await act("/api/reset", {});
  });
  document.addEventListener("click", (e) => {
    if (!e.target.closest(".bk-overflow")) {
      for (const menu of document.querySelectorAll(".bk-overflow-menu")) menu.hidden = true;
    }
  });
}

async function main() {
  wire();
  // Without a (known) person yet, the sandbox answers as the reporter.
  let first = ui.me ? await api(`/api/state?user=${encodeURIComponent(ui.me)}`).catch(() => null) : null;
  if (!first) first = await api("/api/state");
  ui.me = first.me;
  await refresh(true);
  setInterval(() => refresh(), POLL_MS);
}

main();
