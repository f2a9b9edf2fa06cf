"use strict";
// The dentist's page: room and patient (registered or rectified with the
// patient form, js/patient-form.js), start / stop, hands-free or
// push-to-talk, live text, the open draft (correctable with the keyboard),
// the documents. Audio goes over WebRTC; if that fails, over the WebSocket
// with an AudioWorklet sending 16-bit PCM.

const user = header("dictation");
translate();

const state = { transport: null, stream: null, live: new Map(), documents: new Map(), patients: new Map(), pushToTalk: false, held: false };

async function loadChoices() {
  const rooms = await (await api("/v1/rooms")).json();
  $("#room").replaceChildren(...rooms.map((r) => el("option", { value: r.id }, r.name)));
  await loadPatients();
}

// -- patients: the selector, what a prescriber must know of the chosen one, the form ----------

function patientLabel(p) {
  const shown = p.allergies.slice(0, 3).join(", ") + (p.allergies.length > 3 ? ", …" : "");
  return `${p.last_name.toUpperCase()} ${p.first_name} (${p.code})` + (p.allergies.length ? ` — ⚠ ${t("allergy_short")}${colon()}${shown}` : "");
}

// The search box narrows the selector as one types (the practice's first
// patients are loaded; the API's search brings the others).
const finder = narrowingSelect($("#patient-search"), $("#patient"), {
  items: () => [...state.patients.values()].sort(byName).map((p) => ({ value: p.id, label: patientLabel(p), patient: p })),
  blank: t("no_patient"),
  onChoose: () => patientChosen(),
  more: async (query) => {
    const found = await (await api(`/v1/patients?q=${encodeURIComponent(apiPatientQuery(query))}`)).json();
    for (const p of found) state.patients.set(p.id, p);
  },
  status: $("#patient-found"),
});

function byName(a, b) {
  return fold(`${a.last_name} ${a.first_name}`).localeCompare(fold(`${b.last_name} ${b.first_name}`));
}

async function loadPatients(selected = $("#patient").value) {
  const patients = await (await api("/v1/patients")).json();
  state.patients = new Map(patients.map((p) => [p.id, p]));
  if (selected && !state.patients.has(selected)) {  // beyond the first ones listed
    const fresh = await api(`/v1/patients/${selected}`).then((r) => r.json(), () => null);
    if (fresh) state.patients.set(fresh.id, fresh);
  }
  $("#patient-search").value = "";
  finder.render();
  $("#patient").value = state.patients.has(selected) ? selected : "";
  patientChosen();
}

function patientChosen() {
  const p = state.patients.get($("#patient").value);
  $("#edit-patient").disabled = !p;
  $("#patient-facts").replaceChildren(...(p ? patientFacts(p) : []));
}

async function editPatient(patient) {
  const saved = await patientForm.open(patient);
  if (!saved) return;
  await loadPatients(saved.id);
  feedback(t("saved"));
}

// -- events, whatever the transport -------------------------------------------------

function onEvent(event) {
  switch (event.type) {
    case "ready": setRecording(true); break;
    case "partial": showPartial(event); break;
    case "final": showFinal(event); break;
    case "command": feedback(event.message); break;
    case "hint": case "warning": feedback(event.message, true); break;
    case "readback": showReadback(event); break;
    case "draft.updated": showDraft(event.draft); break;
    case "document.ready": showDocument(event); break;
    case "error": feedback(event.message, true); break;
    case "closed": finished(); break;
  }
}

function livePara(utterance) {
  let para = state.live.get(utterance);
  if (!para) {
    para = el("p", { "data-utterance": utterance });
    state.live.set(utterance, para);
    $("#transcript").append(para);
  }
  return para;
}

function showPartial(event) {
  livePara(event.utterance).replaceChildren(el("span", { class: "stable" }, event.stable), " ", el("span", { class: "unstable" }, event.unstable));
  $("#transcript").scrollTop = $("#transcript").scrollHeight;
}

// "valide": the lines to be signed, until the next utterance answers them.
function showReadback(event) {
  $("#readback").replaceChildren(readbackView(event));
  $("#readback").classList.remove("hidden");
  feedback(event.message);
}

function hideReadback() {
  $("#readback").classList.add("hidden");
  $("#readback").replaceChildren();
}

function showFinal(event) {
  if (event.text && event.end_of_utterance) hideReadback();
  if (!event.text) { const p = state.live.get(event.utterance); if (p && event.end_of_utterance) { p.remove(); state.live.delete(event.utterance); } return; }
  const para = livePara(event.utterance);
  para.className = event.source === "text" ? "typed" : "";
  para.textContent = event.text;
  if (event.end_of_utterance) state.live.delete(event.utterance);
  $("#transcript").scrollTop = $("#transcript").scrollHeight;
}

function feedback(message, warn = false) {
  const node = $("#feedback");
  node.textContent = message;
  node.className = warn ? "feedback warn" : "feedback";
}

function showDraft(draft) {
  const accept = (index) => state.transport && state.transport.send({ type: "accept", index });
  $("#draft").replaceChildren(draft.status === "discarded" ? el("p", { class: "muted" }, t("no_draft")) : draftView(draft, accept));
}

function showDocument(event) {
  const key = `${event.document_id}/${event.version}/${event.status}`;
  const open = async () => window.open(await pdfBlobUrl(event.url), "_blank", "noopener");
  const download = async () => {
    const link = el("a", { href: await pdfBlobUrl(event.url), download: `${event.number}-v${event.version}.pdf` });
    document.body.append(link); link.click(); link.remove();
  };
  const item = el("li", { "data-document": event.document_id },
    el("strong", {}, `${event.title} ${event.number}`), el("span", { class: "muted" }, `v${event.version} · ${event.status === "preview" ? t("preview") : t("validated")}`),
    el("button", { onclick: open }, t("open")), el("button", { onclick: download, class: "download" }, t("download")));
  const previous = state.documents.get(key);
  if (previous) previous.replaceWith(item); else $("#documents").prepend(item);
  state.documents.set(key, item);
  if (event.print) open();
}

// -- transports ------------------------------------------------------------------------

async function microphone() {
  return navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 } });
}

function startFields() {
  return { language: lang() === "en" ? "en" : "fr", room: $("#room").value || undefined, patient: $("#patient").value || undefined };
}

async function viaWebRtc(stream) {
  if (!window.RTCPeerConnection) throw new Error("no WebRTC");
  const pc = new RTCPeerConnection({ iceServers: [] });
  const channel = pc.createDataChannel("events");
  channel.onmessage = (message) => onEvent(JSON.parse(message.data));
  channel.onclose = () => finished();  // the server ended it, or the link is gone
  stream.getAudioTracks().forEach((track) => pc.addTrack(track, stream));
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {  // the server takes the offer with its candidates (no trickle)
    if (pc.iceGatheringState === "complete") resolve();
    pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve());
    setTimeout(resolve, 3000);
  });
  try {
    const response = await api("/v1/webrtc/offer", { method: "POST", body: JSON.stringify({ type: "offer", sdp: pc.localDescription.sdp, start: startFields() }) });
    await pc.setRemoteDescription(await response.json());
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("WebRTC did not connect")), 8000);
      channel.addEventListener("open", () => { clearTimeout(timer); resolve(); });
    });
  } catch (error) {
    pc.close();  // the server releases its side too
    throw error;
  }
  return {
    name: t("via_webrtc"),
    send: (message) => channel.send(JSON.stringify(message)),
    mute: (muted) => stream.getAudioTracks().forEach((track) => { track.enabled = !muted; }),
    close: () => pc.close(),
  };
}

async function viaWebSocket(stream) {
  const context = new AudioContext();
  await context.audioWorklet.addModule("js/pcm-worklet.js");
  const source = context.createMediaStreamSource(stream);
  const sender = new AudioWorkletNode(context, "pcm-sender");
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/stream`);
  ws.binaryType = "arraybuffer";
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error("WebSocket failed")); });
  ws.onmessage = (message) => onEvent(JSON.parse(message.data));
  ws.onclose = () => finished();
  ws.send(JSON.stringify({ type: "start", token: auth.token, sample_rate: context.sampleRate, encoding: "pcm_s16le", channels: 1, ...startFields() }));
  sender.port.onmessage = (message) => { if (ws.readyState === WebSocket.OPEN) ws.send(message.data); };
  const silent = new GainNode(context, { gain: 0 });  // the browser runs only a graph that reaches its output
  source.connect(sender).connect(silent).connect(context.destination);
  await context.resume();
  return {
    name: t("via_websocket"),
    send: (message) => ws.send(JSON.stringify(message)),
    mute: (muted) => sender.port.postMessage({ muted }),
    close: () => { ws.close(); context.close(); },
  };
}

async function start() {
  $("#error").textContent = "";
  $("#start").disabled = true;
  try {
    state.stream = await microphone();
  } catch (error) {
    if (error.name === "NotAllowedError" || error.name === "SecurityError") showProblem(t("mic_refused"), "microphone");
    else if (error.name === "NotFoundError" || error.name === "OverconstrainedError") showProblem(t("mic_missing"), "microphone");
    else $("#error").textContent = t("mic_error") + error.message;
    $("#start").disabled = false;
    return;
  }
  clearProblem("microphone");
  try {
    state.transport = await viaWebRtc(state.stream);
  } catch (error) {
    console.info("WebRTC unavailable, falling back to the WebSocket:", error.message);
    state.transport = await viaWebSocket(state.stream);
  }
  $("#transport").textContent = state.transport.name;
  state.pushToTalk = document.querySelector("input[name=mode]:checked").value === "push-to-talk";
  state.transport.mute(state.pushToTalk && !state.held);
  setRecording(true);
  for (const id of ["#type-text", "#type-send", "#preview"]) $(id).disabled = false;
  $("#start").classList.add("hidden");
  $("#stop").classList.remove("hidden");
}

function stop() {
  if (state.transport) state.transport.send({ type: "stop" });
  $("#stop").disabled = true;
}

function finished() {
  if (!state.transport) return;
  const transport = state.transport;
  state.transport = null;
  setTimeout(() => transport.close(), 300);
  if (state.stream) state.stream.getTracks().forEach((track) => track.stop());
  setRecording(false);
  for (const id of ["#type-text", "#type-send", "#preview"]) $(id).disabled = true;
  $("#stop").classList.add("hidden");
  $("#stop").disabled = false;
  $("#start").classList.remove("hidden");
  $("#start").disabled = false;
}

function setRecording(on) {
  const indicator = $("#recording");
  const held = on && state.pushToTalk && !state.held;
  indicator.className = `recording${on ? " on" : ""}${held ? " held" : ""}`;
  $("#recording-label").textContent = on ? (held ? t("paused") : t("recording")) : t("idle");
}

// Push-to-talk: F9 (what foot pedals usually send) or the space bar outside a text field.
function talkKey(event) {
  return event.key === "F9" || (event.code === "Space" && !["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName));
}
document.addEventListener("keydown", (event) => {
  if (!talkKey(event) || !state.transport || !state.pushToTalk || event.repeat) return;
  event.preventDefault();
  state.held = true;
  state.transport.mute(false);
  setRecording(true);
});
document.addEventListener("keyup", (event) => {
  if (!talkKey(event) || !state.transport || !state.pushToTalk) return;
  state.held = false;
  state.transport.mute(true);
  setRecording(true);
});

$("#patient").addEventListener("change", patientChosen);
$("#new-patient").addEventListener("click", () => editPatient(null).catch((error) => { $("#error").textContent = error.message; }));
$("#edit-patient").addEventListener("click", async () => {
  try {
    const fresh = await (await api(`/v1/patients/${$("#patient").value}`)).json();  // as it is now, not as listed
    await editPatient(fresh);
  } catch (error) {
    $("#error").textContent = error.message;
  }
});
$("#start").addEventListener("click", start);
$("#stop").addEventListener("click", stop);
$("#preview").addEventListener("click", () => state.transport && state.transport.send({ type: "preview" }));
// the token was refreshed: the open dictation carries on with it (the server closes a connection whose token expired)
window.addEventListener("chairside:token", () => state.transport && state.transport.send({ type: "token", token: auth.token }));
$("#type-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("#type-text").value.trim();
  if (text && state.transport) state.transport.send({ type: "text", text });
  $("#type-text").value = "";
});

loadChoices().catch((error) => { $("#error").textContent = error.message; });
