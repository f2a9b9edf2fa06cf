"use strict";
// The practice's patients (dentists and assistants): search them by name,
// code or birth date, register one, and a patient's page
// (patients.html?id=<id>: an id, never patient data, in the URL) — their
// identity and safety facts, rectified with the patient form
// (js/patient-form.js); their documents (open, download, print, re-issue
// after a rectification); their dictation sessions; and their rights:
// access (the export, a zip) and erasure, behind a dialog that explains what
// goes and what the law keeps, and asks for the last name. Export, erasure
// and re-issue are the dentist's (server/chairside/http/patients.py,
// documents.py: DICTATE); an assistant is not offered them.

Object.assign(STRINGS.fr, {
  patients_title: "Patients du cabinet", search: "Rechercher", back_patients: "← Patients",
  first_results: "La liste s'arrête aux {n} premiers par ordre alphabétique : précisez la recherche.",
  document: "Document", issued: "Émis le", validated_by: "Validé par", actions: "Actions", sessions: "Séances de dictée",
  started: "Début", practitioner: "Praticien", utterances: "Énoncés", show_transcript: "Afficher", no_utterance: "Aucun énoncé.",
  no_documents: "Aucun document validé.", no_sessions: "Aucune séance de dictée.", in_progress: "en cours",
  age: "{n} ans", unknown: "—", not_found_patient: "Ce patient n'existe pas dans le cabinet, ou il a été effacé.",
  export: "Exporter le dossier", export_hint: "Droit d'accès : tout ce que Chairside garde de ce patient, en un fichier zip.",
  exported: "Dossier exporté : {file}.", erase: "Effacer le patient…", reissue: "Réémettre",
  saved_reissue: "Patient enregistré. Les documents déjà validés ne changent pas : réémettez ceux qui doivent porter la correction (bouton « Réémettre »).",
  reissue_title: "Réémettre {title} {number} ?",
  reissue_explained: "Une version {version} sera émise avec l'identité actuelle du patient et les coordonnées actuelles du cabinet, signée à votre nom. Les versions précédentes restent telles qu'elles ont été signées.",
  reissued: "{title} {number} réémis : version {version}.",
  refused: "Le serveur a refusé : {message}",
  refused_role: "Le serveur a refusé : votre rôle ne le permet pas (demandez-le au chirurgien-dentiste).",
  erase_title: "Effacer le dossier de {name} ?",
  erase_intro: "Droit à l'effacement. C'est définitif : rien ne pourra être rétabli.",
  erase_gone_title: "Effacé tout de suite",
  erase_gone_1: "ses séances de dictée et leurs transcriptions, les brouillons et leurs modifications, les aperçus ;",
  erase_gone_2: "ce que les écrans des fauteuils ont affiché pendant ses dictées ;",
  erase_gone_3: "sa fiche : identité et précautions. Il disparaît de la liste des patients. (Chairside n'enregistre jamais le son.)",
  erase_kept_title: "Conservé",
  erase_kept_1: "les documents validés (ordonnances, certificats, bons de commande, comptes rendus) émis il y a moins de {years} ans : ce sont des pièces légales du dossier médical. Ils restent tels qu'ils ont été signés, avec l'identité imprimée dessus, et se trouvent toujours dans la page Documents. Les documents plus anciens sont effacés avec le reste.",
  erase_kept_2: "la trace de l'effacement dans le journal d'audit (qui, quand ; ni nom ni donnée de santé).",
  erase_years_note: "{years} ans est la durée de conservation des dossiers médicaux, réglage par défaut du serveur (CHAIRSIDE_DOCUMENT_RETENTION_YEARS) ; la réponse du serveur confirmera la durée appliquée.",
  erase_this_patient: "Pour ce patient : {documents} et {sessions}.",
  erase_type: "Pour confirmer, tapez son nom de famille : {last}",
  erase_now: "Effacer définitivement",
  erased: "Dossier de {name} effacé. Supprimé : {deleted}.", erased_file: "sa fiche",
  erased_kept: "Conservé : {kept} (durée de conservation : {years} ans).", erased_nothing_kept: "Rien n'est conservé (durée de conservation : 0).",
  n_documents_one: "{n} document validé", n_documents_many: "{n} documents validés",
  n_sessions_one: "{n} séance de dictée", n_sessions_many: "{n} séances de dictée",
  n_utterances_one: "{n} énoncé transcrit", n_utterances_many: "{n} énoncés transcrits",
  n_previews_one: "{n} aperçu", n_previews_many: "{n} aperçus",
  n_unkept_one: "{n} brouillon ou document trop ancien", n_unkept_many: "{n} brouillons ou documents trop anciens",
});
Object.assign(STRINGS.en, {
  patients_title: "The practice's patients", search: "Search", back_patients: "← Patients",
  first_results: "The list stops at the first {n} in alphabetical order: refine the search.",
  document: "Document", issued: "Issued", validated_by: "Signed by", actions: "Actions", sessions: "Dictation sessions",
  started: "Started", practitioner: "Practitioner", utterances: "Utterances", show_transcript: "Show", no_utterance: "No utterance.",
  no_documents: "No signed document.", no_sessions: "No dictation session.", in_progress: "in progress",
  age: "{n} years old", unknown: "—", not_found_patient: "This patient is not in the practice, or was erased.",
  export: "Export the file", export_hint: "Right of access: everything Chairside keeps about this patient, as one zip file.",
  exported: "File exported: {file}.", erase: "Erase the patient…", reissue: "Re-issue",
  saved_reissue: "Patient saved. Signed documents do not change: re-issue those that must carry the correction (“Re-issue” button).",
  reissue_title: "Re-issue {title} {number}?",
  reissue_explained: "Version {version} will be issued with the patient's and the practice's current details, signed in your name. The earlier versions stay as they were signed.",
  reissued: "{title} {number} re-issued: version {version}.",
  refused: "The server refused: {message}",
  refused_role: "The server refused: your role does not allow it (ask the dentist).",
  erase_title: "Erase the file of {name}?",
  erase_intro: "Right to erasure. This is final: nothing can be restored.",
  erase_gone_title: "Erased at once",
  erase_gone_1: "their dictation sessions and transcripts, the drafts and their changes, the previews;",
  erase_gone_2: "what the chairs' screens showed during their dictations;",
  erase_gone_3: "their file: identity and precautions. They leave the patient list. (Chairside never records sound.)",
  erase_kept_title: "Kept",
  erase_kept_1: "signed documents (prescriptions, certificates, lab orders, reports) issued less than {years} years ago: they are legal parts of the medical record. They stay as they were signed, with the identity printed on them, and remain on the Documents page. Older documents are erased with the rest.",
  erase_kept_2: "the record of the erasure in the audit trail (who, when; no name, no health data).",
  erase_years_note: "{years} years is the retention of medical records, the server's default setting (CHAIRSIDE_DOCUMENT_RETENTION_YEARS); the server's answer will confirm the period applied.",
  erase_this_patient: "For this patient: {documents} and {sessions}.",
  erase_type: "To confirm, type their last name: {last}",
  erase_now: "Erase for good",
  erased: "The file of {name} was erased. Deleted: {deleted}.", erased_file: "their record",
  erased_kept: "Kept: {kept} (retention: {years} years).", erased_nothing_kept: "Nothing is kept (retention: 0).",
  n_documents_one: "{n} signed document", n_documents_many: "{n} signed documents",
  n_sessions_one: "{n} dictation session", n_sessions_many: "{n} dictation sessions",
  n_utterances_one: "{n} transcribed utterance", n_utterances_many: "{n} transcribed utterances",
  n_previews_one: "{n} preview", n_previews_many: "{n} previews",
  n_unkept_one: "{n} draft or expired document", n_unkept_many: "{n} drafts or expired documents",
});

// When a patient is erased, validated documents issued less than this many
// years ago are kept (server/chairside/config.py, document_retention_years;
// no endpoint gives the practice's setting: the erasure's answer does).
const DEFAULT_RETENTION_YEARS = 20;
const PAGE_LIMIT = 50;  // store/patients.search answers at most this many

const user = header("patients");
translate();
const isDentist = user.role === "dentist";
const view = { patient: null, documents: [], sessions: [], rooms: new Map() };
let searchTimer = null;
let searchSeq = 0;
// Whether the practice's whole list fits in one answer: then the search is
// done here, accents ignored (the API's q counts them); else the API searches.
let wholeList = false;

const say = (key, values = {}) => t(key).replace(/\{(\w+)\}/g, (_, name) => values[name] ?? "");
const counted = (n, key) => say((lang() === "fr" ? n < 2 : n === 1) ? `${key}_one` : `${key}_many`, { n });  // "0 aperçu", "0 previews"
const showError = (error) => { $("#error").textContent = error.message || String(error); };

// -- which view: the list, or one patient (?id=) ----------------------------------------

function patientIdInUrl() {
  return new URLSearchParams(location.search).get("id");
}

async function route() {
  $("#error").textContent = "";
  const id = patientIdInUrl();
  $("#list-view").classList.toggle("hidden", Boolean(id));
  $("#patient-view").classList.toggle("hidden", !id);
  if (id) await showPatient(id);
  else await search();
}

function go(id) {
  history.pushState(null, "", id ? `patients.html?id=${encodeURIComponent(id)}` : "patients.html");
  return route();
}

// -- the list: search as one types ------------------------------------------------------

async function search() {
  const query = $("#search").value.trim();
  const mine = ++searchSeq;
  const q = wholeList ? "" : apiPatientQuery(query);
  const found = await (await api(`/v1/patients?q=${encodeURIComponent(q)}`)).json();
  if (mine !== searchSeq) return;  // a later search answered first
  if (!q) wholeList = found.length < PAGE_LIMIT;
  const shown = found.filter((p) => patientMatches(p, query));
  const row = (p) => el("tr", { "data-patient": p.id },
    el("th", { scope: "row" }, el("a", { href: `patients.html?id=${p.id}` }, patientName(p))),
    el("td", { class: "nowrap" }, formatDay(p.birth_date) || t("unknown")),
    el("td", {}, p.code),
    el("td", {}, el("div", { class: "patient-facts compact" }, ...patientFacts(p))));
  $("#patients").replaceChildren(...(shown.length ? shown.map(row)
    : [el("tr", {}, el("td", { colspan: "4", class: "muted" }, t("found_none")))]));
  $("#found").textContent = foundText(shown.length) + (found.length >= PAGE_LIMIT ? ` ${say("first_results", { n: found.length })}` : "");
}

function searchSoon() {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => search().catch(showError), 250);
}

async function registerPatient() {
  const saved = await patientForm.open(null);
  if (!saved) return;
  await go(saved.id);
  notice(t("saved"));
  $("#p-name").focus();  // the list's button is gone: the focus goes to the patient's page
}

// -- one patient --------------------------------------------------------------------------

function notice(text) {
  const target = patientIdInUrl() ? $("#p-notice") : $("#list-notice");
  target.textContent = text;
}

function ageOf(birthDate) {
  const [y, m, d] = birthDate.split("-").map(Number);
  const now = new Date();
  return now.getFullYear() - y - (now.getMonth() + 1 < m || (now.getMonth() + 1 === m && now.getDate() < d) ? 1 : 0);
}

function renderPatient() {
  const p = view.patient;
  $("#p-name").textContent = patientName(p);
  const item = (key, value) => [el("dt", {}, t(key)), el("dd", {}, value || t("unknown"))];
  const weight = p.weight_kg == null ? "" : new Intl.NumberFormat(lang(), { maximumFractionDigits: 1 }).format(p.weight_kg);
  $("#p-identity").replaceChildren(
    ...item("code", p.code),
    ...item("birth_date", p.birth_date ? `${formatDay(p.birth_date)} (${say("age", { n: ageOf(p.birth_date) })})` : ""),
    ...item("sex", p.sex ? t(`sex_${p.sex}`) : ""),
    ...item("weight_kg", weight));
  $("#p-facts").replaceChildren(...patientFacts(p));
}

async function showPatient(id) {
  $("#p-notice").textContent = "";
  for (const node of ["#p-documents", "#p-sessions", "#p-identity", "#p-facts"]) $(node).replaceChildren();
  let p;
  try {
    p = await (await api(`/v1/patients/${encodeURIComponent(id)}`)).json();
  } catch (error) {
    view.patient = null;
    $("#p-name").textContent = t("not_found_patient");
    document.querySelectorAll("#p-actions, #patient-view section.spaced").forEach((node) => node.classList.add("hidden"));
    return;
  }
  view.patient = p;
  document.querySelectorAll("#p-actions, #patient-view section.spaced").forEach((node) => node.classList.remove("hidden"));
  renderPatient();
  await Promise.all([loadDocuments(), loadSessions()]);
}

// Who signed: the API gives an id (and perhaps a name); the logged-in user knows their own.
function signer(item) {
  return item.validated_by_name || (item.validated_by === user.id ? user.name : "");
}

async function loadDocuments() {
  const p = view.patient;
  view.documents = await (await api(`/v1/documents?patient=${p.id}`)).json();
  const action = (label, what, handler, d) => el("button", { type: "button", class: what, "aria-label": `${label} — ${d.title} ${d.number}`,
    onclick: () => handler(d).catch((error) => notice(refusedText(error))) }, label);
  const row = (d) => el("tr", { "data-document": d.id },
    el("th", { scope: "row" }, `${d.title} ${d.number}`),
    el("td", {}, `v${d.version}`),
    el("td", { class: "nowrap" }, formatTime(d.issued_at)),
    el("td", {}, signer(d) || t("unknown")),
    el("td", { class: "row-actions" },
      action(t("open"), "open", (doc) => openPdf(doc.url), d),
      action(t("download"), "download", (doc) => downloadPdf(doc.url, `${doc.number}-v${doc.version}.pdf`), d),
      action(t("print"), "print", (doc) => printPdf(doc.url), d),
      ...(isDentist ? [action(t("reissue"), "reissue", async (doc) => openReissue(doc), d)] : [])));
  $("#p-documents").replaceChildren(...(view.documents.length ? view.documents.map(row)
    : [el("tr", {}, el("td", { colspan: "5", class: "muted" }, t("no_documents")))]));
}

async function loadSessions() {
  const p = view.patient;
  const [sessions, rooms] = await Promise.all([
    api(`/v1/sessions?patient=${p.id}&limit=500`).then((r) => r.json()),
    view.rooms.size ? null : api("/v1/rooms").then((r) => r.json()),
  ]);
  if (rooms) view.rooms = new Map(rooms.map((r) => [r.id, r.name]));
  view.sessions = sessions;
  const row = (s) => el("tr", { "data-session": s.id },
    el("th", { scope: "row", class: "nowrap" }, formatTime(s.started_at), s.ended_at ? "" : el("span", { class: "muted" }, ` (${t("in_progress")})`)),
    el("td", { class: "nowrap" }, view.rooms.get(s.room) || t("unknown")),
    el("td", {}, s.user_name || (s.user === user.id ? user.name : t("unknown"))),
    el("td", {}, String(s.utterances)),
    el("td", {}, s.utterances ? transcript(s) : t("unknown")));
  $("#p-sessions").replaceChildren(...(sessions.length ? sessions.map(row)
    : [el("tr", {}, el("td", { colspan: "5", class: "muted" }, t("no_sessions")))]));
}

// A session's words, fetched when asked for.
function transcript(s) {
  const body = el("div", { class: "utterance-list", "aria-live": "polite" });
  const details = el("details", {}, el("summary", {}, t("show_transcript")), body);
  details.addEventListener("toggle", async () => {
    if (!details.open || body.dataset.loaded) return;
    body.dataset.loaded = "1";
    try {
      const utterances = await (await api(`/v1/sessions/${s.id}/utterances`)).json();
      body.replaceChildren(...(utterances.length ? utterances.map((u) => el("p", {}, u.text)) : [el("p", { class: "muted" }, t("no_utterance"))]));
    } catch (error) {
      body.textContent = error.message;
    }
  });
  return details;
}

async function editPatient() {
  const fresh = await (await api(`/v1/patients/${view.patient.id}`)).json();  // as it is now
  const saved = await patientForm.open(fresh);
  if (!saved) return;
  view.patient = saved;
  renderPatient();
  notice(view.documents.length ? t("saved_reissue") : t("saved"));
}

// -- rights: access (export), re-issue, erasure ---------------------------------------------

async function exportPatient() {
  const p = view.patient;
  const response = await api(`/v1/patients/${p.id}/export`);
  const name = responseFilename(response, `chairside-${p.code}.zip`);
  saveBlob(await response.blob(), name);
  notice(say("exported", { file: name }));
}

let reissuing = null;
let dialogOpener = null;  // where the focus goes back when a dialog closes (Escape too)

function openDialog(dialog, focus) {
  dialogOpener = document.activeElement;
  dialog.showModal();
  if (focus) focus.focus();
}

function dialogClosed() {
  if (dialogOpener && document.contains(dialogOpener) && dialogOpener.offsetParent !== null) dialogOpener.focus();
  dialogOpener = null;
}

function openReissue(d) {
  reissuing = d;
  $("#reissue-title").textContent = say("reissue_title", { title: d.title, number: d.number });
  $("#reissue-explained").textContent = say("reissue_explained", { version: d.version + 1 });
  $("#reissue-error").textContent = "";
  openDialog($("#reissue-dialog"), $("#reissue-go"));
}

async function reissue(event) {
  event.preventDefault();
  const d = reissuing;
  $("#reissue-go").disabled = true;
  try {
    const done = await (await api(`/v1/documents/${d.id}/rectify`, { method: "POST" })).json();
    $("#reissue-dialog").close();
    await loadDocuments();
    notice(say("reissued", { title: d.title, number: done.number, version: done.version }));
  } catch (error) {
    $("#reissue-error").textContent = refusedText(error);
  } finally {
    $("#reissue-go").disabled = false;
  }
}

function openErase() {
  const p = view.patient;
  const years = DEFAULT_RETENTION_YEARS;
  $("#erase-title").textContent = say("erase_title", { name: patientName(p) });
  $("#erase-explained").replaceChildren(
    el("p", { class: "intro" }, t("erase_intro")),
    el("h3", {}, t("erase_gone_title")),
    el("ul", {}, el("li", {}, t("erase_gone_1")), el("li", {}, t("erase_gone_2")), el("li", {}, t("erase_gone_3"))),
    el("h3", {}, t("erase_kept_title")),
    el("ul", {}, el("li", {}, say("erase_kept_1", { years })), el("li", {}, t("erase_kept_2"))),
    el("p", { class: "hint" }, say("erase_years_note", { years })),
    el("p", { class: "this-patient" }, say("erase_this_patient", {
      documents: counted(view.documents.length, "n_documents"), sessions: counted(view.sessions.length, "n_sessions") })));
  $("#erase-confirm-label").textContent = say("erase_type", { last: p.last_name.toUpperCase() });
  $("#erase-confirm").value = "";
  $("#erase-go").disabled = true;
  $("#erase-error").textContent = "";
  openDialog($("#erase-dialog"), $("#erase-confirm"));
}

// The erasure's answer, said: what went (what there was of it) and what the law keeps.
function erasedText(p, done) {
  const d = done.deleted || {};
  const deleted = [t("erased_file"), ...[[d.sessions, "n_sessions"], [d.utterances, "n_utterances"], [d.previews, "n_previews"],
    [done.documents_deleted, "n_unkept"]].filter(([n]) => n > 0).map(([n, key]) => counted(n, key))];  // unkept: never signed, or older than the retention
  const kept = done.retention_years > 0
    ? say("erased_kept", { kept: counted(done.documents_kept || 0, "n_documents"), years: done.retention_years })
    : t("erased_nothing_kept");
  return `${say("erased", { name: patientName(p), deleted: deleted.join(", ") })} ${kept}`;
}

async function erase(event) {
  event.preventDefault();
  const p = view.patient;
  if (fold($("#erase-confirm").value) !== fold(p.last_name)) return;
  $("#erase-go").disabled = true;
  try {
    const done = await (await api(`/v1/patients/${p.id}`, { method: "DELETE" })).json();
    dialogOpener = null;  // the page it was opened from is gone
    $("#erase-dialog").close();
    $("#search").value = "";
    await go(null);
    notice(erasedText(p, done));
    $("#search").focus();
  } catch (error) {
    $("#erase-error").textContent = refusedText(error);
    $("#erase-go").disabled = false;
  }
}

// -- wiring ---------------------------------------------------------------------------------

if (isDentist) {
  $("#p-actions").append(
    el("button", { type: "button", id: "p-export", title: t("export_hint"), "aria-describedby": "p-export-hint" }, t("export")),
    el("button", { type: "button", id: "p-erase", class: "danger" }, t("erase")),
    el("span", { id: "p-export-hint", class: "sr-only" }, t("export_hint")));
  $("#p-export").addEventListener("click", () => exportPatient().catch((error) => notice(refusedText(error))));
  $("#p-erase").addEventListener("click", openErase);
}
$("#search-form").addEventListener("submit", (event) => { event.preventDefault(); clearTimeout(searchTimer); search().catch(showError); });
$("#search").addEventListener("input", searchSoon);
$("#new-patient").addEventListener("click", () => registerPatient().catch(showError));
$("#p-edit").addEventListener("click", () => editPatient().catch(showError));
$("#erase-confirm").addEventListener("input", () => {
  $("#erase-go").disabled = !view.patient || fold($("#erase-confirm").value) !== fold(view.patient.last_name);
});
$("#erase-form").addEventListener("submit", erase);
$("#erase-cancel").addEventListener("click", () => $("#erase-dialog").close());
$("#reissue-form").addEventListener("submit", reissue);
$("#reissue-cancel").addEventListener("click", () => $("#reissue-dialog").close());
for (const dialog of ["#erase-dialog", "#reissue-dialog"]) $(dialog).addEventListener("close", dialogClosed);
window.addEventListener("popstate", () => route().catch(showError));

route().catch(showError);


// A refusal of the server in the page's language: a role that may not, in
// words; anything else with the server's own message.
function refusedText(error) {
  return error.status === 403 || error.code === "forbidden" ? say("refused_role") : say("refused", { message: error.message });
}
