"use strict";
// The assistant's screen: the practice's rooms, then one room, live — large
// text readable from two metres, drafts, documents with a print button. It
// reconnects by itself and catches up from its last sequence number.

header("screen");
translate();

const roomId = new URLSearchParams(location.hash.slice(1)).get("room");
const view = { lastSeq: null, live: new Map(), drafts: new Map(), documents: new Map(), retry: 500 };

async function showRooms() {
  $("#rooms-view").classList.remove("hidden");
  const rooms = await (await api("/v1/rooms")).json();
  $("#rooms").replaceChildren(...rooms.map((room) => el("a", { href: `ecran.html#room=${room.id}`, onclick: () => setTimeout(() => location.reload()) },
    el("div", { class: "card" }, el("div", { class: "room" }, room.name), el("div", { class: room.live ? "live" : "muted" }, room.live ? t("live") : t("free"))))));
}

let socket = null;  // the room's connection, told of a refreshed token
window.addEventListener("chairside:token", () => {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "token", token: auth.token }));
});

function connect() {
  const ws = socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/rooms/${roomId}/events`);
  ws.onopen = () => ws.send(JSON.stringify({ type: "hello", token: auth.token, ...(view.lastSeq !== null ? { last_seq: view.lastSeq } : {}) }));
  ws.onmessage = (message) => {
    view.retry = 500;
    setConnection(true);
    handle(JSON.parse(message.data));
  };
  ws.onclose = (event) => {
    setConnection(false);
    if ([4401, 4403, 4404].includes(event.code)) { $("#session-info").textContent = event.reason || "—"; if (event.code === 4401) location.replace("index.html"); return; }
    setTimeout(connect, view.retry);
    view.retry = Math.min(view.retry * 2, 10_000);
  };
}

function setConnection(ok) {
  const node = $("#connection");
  node.textContent = ok ? t("connected") : t("reconnecting");
  node.className = ok ? "connection" : "connection lost";
}

function handle(event) {
  if (event.type === "error") { $("#session-info").textContent = event.message; return; }
  if (event.type === "snapshot") { snapshot(event); return; }
  if (event.type === "catchup") return;
  if (event.seq !== undefined) {
    if (view.lastSeq !== null && event.seq <= view.lastSeq) return;  // never twice
    view.lastSeq = event.seq;
  }
  switch (event.type) {
    case "session.started": startSession(event.session); break;
    case "session.ended": break;
    case "partial": para(event.utterance).replaceChildren(el("span", { class: "stable" }, event.stable), " ", el("span", { class: "unstable" }, event.unstable)); scroll(); break;
    case "final":  // replaces the utterance's partials (it may differ from their stable words)
      if (event.text && event.end_of_utterance !== false) hideReadback();  // the next utterance answers a readback
      if (event.text) { const p = para(event.utterance); p.textContent = event.text; p.className = event.source === "text" ? "typed" : ""; scroll(); }
      else if (event.end_of_utterance !== false && view.live.has(event.utterance)) { view.live.get(event.utterance).remove(); view.live.delete(event.utterance); }
      break;
    case "draft.updated": draft(event.draft); break;
    case "readback": $("#readback").replaceChildren(readbackView(event)); $("#readback").classList.remove("hidden"); break;
    case "document.ready": if (event.status === "validated") documentItem(event); break;
  }
}

function snapshot(snap) {
  view.lastSeq = snap.seq;
  $("#room-name").textContent = snap.room.name;
  view.live.clear(); view.drafts.clear(); view.documents.clear();
  $("#transcript").replaceChildren(); $("#drafts").replaceChildren(); $("#documents").replaceChildren();
  if (!snap.session) { $("#session-info").textContent = t("waiting"); return; }
  startSession(snap.session);
  for (const line of snap.session.transcript) { const p = para(line.utterance); p.textContent = line.text; p.className = line.source === "text" ? "typed" : ""; }
  snap.session.drafts.forEach(draft);
  snap.session.documents.forEach(documentItem);
  scroll();
}

function hideReadback() { $("#readback").classList.add("hidden"); $("#readback").replaceChildren(); }

function startSession(session) {
  hideReadback();
  view.live.clear(); view.drafts.clear(); view.documents.clear();
  $("#transcript").replaceChildren(); $("#drafts").replaceChildren(); $("#documents").replaceChildren();
  const patient = session.patient ? `${session.patient.last_name.toUpperCase()} ${session.patient.first_name} (${session.patient.code})` : "";
  $("#session-info").textContent = [session.practitioner, patient].filter(Boolean).join(" — ");
}

function para(utterance) {
  let node = view.live.get(utterance);
  if (!node) { node = el("p"); view.live.set(utterance, node); $("#transcript").append(node); }
  return node;
}

function scroll() { $("#transcript").scrollTop = $("#transcript").scrollHeight; }

function draft(d) {
  const old = view.drafts.get(d.id);
  if (d.status === "discarded") { if (old) old.remove(); view.drafts.delete(d.id); return; }
  const node = draftView(d);
  if (old) old.replaceWith(node); else $("#drafts").prepend(node);
  view.drafts.set(d.id, node);
}

function documentItem(doc) {
  const key = `${doc.document_id}/${doc.version}`;
  if (view.documents.has(key)) return;
  const print = async () => {
    const frame = el("iframe", { class: "hidden", src: await pdfBlobUrl(doc.url) });
    frame.addEventListener("load", () => frame.contentWindow.print());
    document.body.append(frame);
  };
  const open = async () => window.open(await pdfBlobUrl(doc.url), "_blank", "noopener");
  const item = el("li", { "data-document": doc.document_id }, el("strong", {}, `${doc.title} ${doc.number}`), el("span", { class: "muted" }, `v${doc.version}`),
    el("button", { onclick: open }, t("open")), el("button", { onclick: print, class: "primary" }, t("print")));
  $("#documents").prepend(item);
  view.documents.set(key, item);
}

if (roomId) {
  $("#room-view").classList.remove("hidden");
  connect();
} else {
  showRooms();
}
window.addEventListener("hashchange", () => location.reload());
