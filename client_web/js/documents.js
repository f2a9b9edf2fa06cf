"use strict";
// The practice's validated documents, latest first (dentists and
// assistants): filtered by patient (a search box narrowing a list), kind and
// dates; each with its patient, date, signer, versions, PDF and FHIR Bundle.
// The filters go to the API as query parameters (patient, kind, from, to)
// and are applied here too, so that the page is right whichever of them the
// API reads (today: patient only).

Object.assign(STRINGS.fr, {
  documents_title: "Documents du cabinet", filters: "Filtres", kind: "Type de document", all_kinds: "— tous les types —",
  all_patients: "— tous les patients —", from: "Du", to: "Au", reset: "Effacer les filtres",
  document: "Document", issued: "Émis le", validated_by: "Validé par", versions: "Versions", unknown: "—",
  patient_erased: "patient effacé", no_document: "Aucun document ne correspond.",
  n_documents_one: "{n} document", n_documents_many: "{n} documents",
  n_versions_one: "{n} version", n_versions_many: "{n} versions", fhir_download: "Télécharger (JSON)",
  kind_prescription: TITLES.prescription, kind_lab_order: TITLES.lab_order,
  kind_medical_certificate: TITLES.medical_certificate, kind_clinical_report: TITLES.clinical_report,
});
Object.assign(STRINGS.en, {
  documents_title: "The practice's documents", filters: "Filters", kind: "Kind of document", all_kinds: "— all kinds —",
  all_patients: "— all patients —", from: "From", to: "To", reset: "Clear the filters",
  document: "Document", issued: "Issued", validated_by: "Signed by", versions: "Versions", unknown: "—",
  patient_erased: "patient erased", no_document: "No document matches.",
  n_documents_one: "{n} document", n_documents_many: "{n} documents",
  n_versions_one: "{n} version", n_versions_many: "{n} versions", fhir_download: "Download (JSON)",
  kind_prescription: "Prescription", kind_lab_order: "Lab order",
  kind_medical_certificate: "Medical certificate", kind_clinical_report: "Clinical report",
});

const KINDS = ["prescription", "lab_order", "medical_certificate", "clinical_report"];

const user = header("documents_page");
translate();
const say = (key, values = {}) => t(key).replace(/\{(\w+)\}/g, (_, name) => values[name] ?? "");
const counted = (n, key) => say((lang() === "fr" ? n < 2 : n === 1) ? `${key}_one` : `${key}_many`, { n });
const showError = (error) => { $("#error").textContent = error.message || String(error); };

// patients by id: those listed, and those of the documents (fetched once
// each); null for an erased patient (their kept documents stay listed)
const state = { documents: [], patients: new Map(), seq: 0 };

$("#kind").replaceChildren(el("option", { value: "" }, t("all_kinds")), ...KINDS.map((k) => el("option", { value: k }, t(`kind_${k}`))));

const finder = narrowingSelect($("#patient-search"), $("#patient-filter"), {
  items: () => [...new Set(state.documents.map((d) => d.patient))]
    .map((id) => state.patients.get(id)).filter(Boolean)
    .sort((a, b) => fold(patientName(a)).localeCompare(fold(patientName(b))))
    .map((p) => ({ value: p.id, label: `${patientName(p)} (${p.code})`, patient: p })),
  blank: t("all_patients"),
  onChoose: () => load().catch(showError),
});

function filters() {
  return { patient: $("#patient-filter").value, query: $("#patient-search").value.trim(), kind: $("#kind").value, from: $("#from").value, to: $("#to").value };
}

// The patients of the documents: the practice's list first, then the others one by one.
async function knowPatients(documents) {
  if (!state.patients.size) {
    for (const p of await (await api("/v1/patients")).json()) state.patients.set(p.id, p);
  }
  const missing = [...new Set(documents.map((d) => d.patient))].filter((id) => id && !state.patients.has(id));
  await Promise.all(missing.map(async (id) => {
    const p = await api(`/v1/patients/${id}`).then((r) => r.json(), () => null);  // 404: erased, their documents kept
    state.patients.set(id, p);
  }));
}

async function load() {
  const f = filters();
  const params = new URLSearchParams();
  for (const name of ["patient", "kind", "from", "to"]) if (f[name]) params.set(name, f[name]);
  const mine = ++state.seq;
  const documents = await (await api(`/v1/documents${params.toString() ? `?${params}` : ""}`)).json();
  if (mine !== state.seq) return;  // a later filter answered first
  await knowPatients(documents);
  if (mine !== state.seq) return;
  if (!f.patient) {  // the whole list: it gives the patients to choose from
    state.documents = documents;
    finder.render();
  }
  render(documents);
}

function shownOf(documents) {
  const f = filters();
  return documents.filter((d) => {
    const p = state.patients.get(d.patient);
    const day = localDay(d.issued_at);
    return (!f.patient ? !f.query || (p && patientMatches(p, f.query)) : d.patient === f.patient)
      && (!f.kind || d.kind === f.kind) && (!f.from || day >= f.from) && (!f.to || day <= f.to);
  });
}

let listed = [];

function render(documents = listed) {
  listed = documents;
  const shown = shownOf(documents);
  $("#documents").replaceChildren(...(shown.length ? shown.map(row) : [el("tr", {}, el("td", { colspan: "7", class: "muted" }, t("no_document")))]));
  $("#found").textContent = counted(shown.length, "n_documents");
}

// Who signed: the API gives an id (and perhaps a name); the logged-in user knows their own.
function signer(item) {
  return item.validated_by_name || (item.validated_by === user.id ? user.name : "");
}

function button(label, what, name, handler) {
  return el("button", { type: "button", class: what, "aria-label": `${label} — ${name}`,
    onclick: () => handler().catch(showError) }, label);
}

function row(d) {
  const p = state.patients.get(d.patient);
  const name = `${d.title} ${d.number}`;
  return el("tr", { "data-document": d.id, "data-kind": d.kind },
    el("th", { scope: "row" }, name),
    el("td", {}, p ? el("a", { href: `patients.html?id=${p.id}` }, patientName(p)) : el("span", { class: "muted" }, d.patient ? t("patient_erased") : t("unknown"))),
    el("td", { class: "nowrap" }, formatTime(d.issued_at)),
    el("td", {}, signer(d) || t("unknown")),
    el("td", {}, versions(d)),
    el("td", { class: "row-actions" },
      button(t("open"), "open", name, () => openPdf(d.url)),
      button(t("download"), "download", name, () => downloadPdf(d.url, `${d.number}-v${d.version}.pdf`))),
    el("td", { class: "row-actions" },
      button(t("fhir_download"), "fhir", name, () => downloadFhir(d.fhir_url, `${d.number}-v${d.version}.fhir.json`))));
}

// A document's versions (GET /v1/documents/{id}), fetched when asked for.
function versions(d) {
  const list = el("ul", { class: "versions", "aria-live": "polite" });
  const details = el("details", {}, el("summary", {}, counted(d.versions ?? d.version, "n_versions")), list);
  details.addEventListener("toggle", async () => {
    if (!details.open || list.dataset.loaded) return;
    list.dataset.loaded = "1";
    try {
      const info = await (await api(`/v1/documents/${d.id}`)).json();
      list.replaceChildren(...info.versions.slice().reverse().map((v) => el("li", {},
        `v${v.version} · ${formatTime(v.issued_at)}`, signer(v) ? ` · ${signer(v)}` : "", " ",
        button("PDF", "open", `${d.title} ${v.number} v${v.version}`, () => openPdf(v.url)), " ",
        button("FHIR", "fhir", `${d.title} ${v.number} v${v.version}`, () => downloadFhir(v.fhir_url, `${v.number}-v${v.version}.fhir.json`)))));
    } catch (error) {
      list.replaceChildren(el("li", { class: "error" }, error.message));
    }
  });
  return details;
}

$("#patient-search").addEventListener("input", () => render());
for (const id of ["#kind", "#from", "#to"]) $(id).addEventListener("change", () => load().catch(showError));
$("#filters").addEventListener("submit", (event) => event.preventDefault());
$("#reset").addEventListener("click", () => {
  for (const id of ["#kind", "#from", "#to"]) $(id).value = "";
  finder.clear();
  load().catch(showError);
});

const wanted = new URLSearchParams(location.search).get("patient");  // documents.html?patient=<id>, from a patient's page
load().then(() => {
  if (wanted && state.patients.get(wanted)) {
    $("#patient-filter").value = wanted;
    return load();
  }
}).catch(showError);
