// Shared by the pages: the token (kept in sessionStorage, never in a URL),
// API calls, the two languages, small DOM helpers.
"use strict";

const STRINGS = {
  fr: {
    login: "Connexion", email: "E-mail", password: "Mot de passe", sign_in: "Se connecter",
    wrong_login: "E-mail ou mot de passe incorrect", logout: "Déconnexion",
    dictation: "Dictée", screen: "Écran", room: "Fauteuil", patient: "Patient", no_patient: "— aucun —",
    start: "Démarrer", stop: "Arrêter", hands_free: "Mains libres", push_to_talk: "Appuyer pour parler (touche F9 ou espace)",
    recording: "Enregistrement", paused: "Micro en attente", idle: "Arrêté", transcript: "Transcription",
    draft: "Document en cours", no_draft: "Aucun document ouvert. Dites « nouvelle ordonnance ».",
    type_here: "Corriger au clavier (ex. : efface ça, remplace X par Y)", send: "Envoyer", preview: "Aperçu",
    documents: "Documents", open: "Ouvrir", download: "Télécharger", print: "Imprimer",
    rooms: "Fauteuils du cabinet", live: "● dictée en cours", free: "libre", back: "← Fauteuils", waiting: "En attente d'une dictée…",
    connected: "connecté", reconnecting: "connexion perdue, reconnexion…", via_webrtc: "WebRTC", via_websocket: "WebSocket",
    mic_error: "Micro inaccessible : ", validated: "validé", draft_status: "brouillon", version: "version", open_line: "en cours de dictée", accept: "Oui, c'est", secure_rx: "ordonnance sécurisée",
    new_patient: "Nouveau patient", edit_patient: "Modifier", patient_form_new: "Nouveau patient", patient_form_edit: "Modifier le patient",
    identity: "Identité", last_name: "Nom", first_name: "Prénom", sex: "Sexe", sex_F: "Femme", sex_M: "Homme", sex_X: "Autre",
    not_given: "— non renseigné —", birth_date: "Date de naissance", weight_kg: "Poids (kg)", code: "Code patient",
    code_hint: "Créé automatiquement s'il est laissé vide.", safety: "Précautions pour la prescription", allergies: "Allergies",
    allergy_placeholder: "ex. : pénicilline, latex, AINS", allergy_hint: "Une allergie par entrée (Entrée pour ajouter) ; les classes connues sont proposées.",
    add: "Ajouter", remove: "Retirer", no_allergy: "Aucune allergie renseignée.",
    pregnancy_weeks: "Grossesse (SA)", pregnancy_hint: "En semaines d'aménorrhée ; vide : pas de grossesse.", breastfeeding: "Allaitement en cours",
    anticoagulant: "Traitement anticoagulant en cours", antiplatelet: "Traitement antiagrégant plaquettaire en cours",
    renal_failure: "Insuffisance rénale", hepatic_failure: "Insuffisance hépatique", failure_none: "— non renseignée —",
    failure_moderate: "modérée", failure_severe: "sévère", save: "Enregistrer", cancel: "Annuler", saved: "Patient enregistré",
    required: "Obligatoire.", bad_number: "Ce n'est pas un nombre.", too_many_allergies: "30 allergies au plus.",
    pregnant: "Enceinte", weeks: "SA", recognised: "classes reconnues", no_precaution: "Aucune précaution renseignée",
    allergy_short: "Allergies", anticoagulant_short: "Anticoagulant", antiplatelet_short: "Antiagrégant", breastfeeding_short: "Allaitement",
    readback: "Relecture", readback_sign: "Dites « oui » pour signer", readback_sign_print: "Dites « oui » pour signer et imprimer",
    readback_other: "Toute autre réponse annule.", readback_empty: "Aucune ligne.",
    patients: "Patients", documents_page: "Documents", admin: "Administration", account: "Mon compte",
    certificate_link: "Nouveau poste ? Installer le certificat du cabinet",
  },
  en: {
    login: "Sign in", email: "E-mail", password: "Password", sign_in: "Sign in",
    wrong_login: "Wrong e-mail or password", logout: "Sign out",
    dictation: "Dictation", screen: "Screen", room: "Chair", patient: "Patient", no_patient: "— none —",
    start: "Start", stop: "Stop", hands_free: "Hands-free", push_to_talk: "Push to talk (F9 or space)",
    recording: "Recording", paused: "Microphone held", idle: "Stopped", transcript: "Transcript",
    draft: "Open document", no_draft: "No open document. Say “new prescription”.",
    type_here: "Correct with the keyboard (e.g. delete that, replace X with Y)", send: "Send", preview: "Preview",
    documents: "Documents", open: "Open", download: "Download", print: "Print",
    rooms: "The practice's chairs", live: "● dictating", free: "free", back: "← Chairs", waiting: "Waiting for a dictation…",
    connected: "connected", reconnecting: "connection lost, reconnecting…", via_webrtc: "WebRTC", via_websocket: "WebSocket",
    mic_error: "Microphone unavailable: ", validated: "signed", draft_status: "draft", version: "version", open_line: "being dictated", accept: "Yes, it is", secure_rx: "secure prescription",
    new_patient: "New patient", edit_patient: "Edit", patient_form_new: "New patient", patient_form_edit: "Edit patient",
    identity: "Identity", last_name: "Last name", first_name: "First name", sex: "Sex", sex_F: "Female", sex_M: "Male", sex_X: "Other",
    not_given: "— not given —", birth_date: "Date of birth", weight_kg: "Weight (kg)", code: "Patient code",
    code_hint: "Generated when left empty.", safety: "Prescribing precautions", allergies: "Allergies",
    allergy_placeholder: "e.g. penicillin, latex, NSAIDs", allergy_hint: "One allergy per entry (Enter to add); known classes are suggested.",
    add: "Add", remove: "Remove", no_allergy: "No allergy recorded.",
    pregnancy_weeks: "Pregnancy (weeks)", pregnancy_hint: "Weeks of amenorrhoea; empty: not pregnant.", breastfeeding: "Breastfeeding",
    anticoagulant: "Anticoagulant treatment in progress", antiplatelet: "Antiplatelet treatment in progress",
    renal_failure: "Renal failure", hepatic_failure: "Hepatic failure", failure_none: "— none recorded —",
    failure_moderate: "moderate", failure_severe: "severe", save: "Save", cancel: "Cancel", saved: "Patient saved",
    required: "Required.", bad_number: "Not a number.", too_many_allergies: "30 allergies at most.",
    pregnant: "Pregnant", weeks: "wk", recognised: "recognised classes", no_precaution: "No precaution recorded",
    allergy_short: "Allergies", anticoagulant_short: "Anticoagulant", antiplatelet_short: "Antiplatelet", breastfeeding_short: "Breastfeeding",
    readback: "Read back", readback_sign: "Say “yes” to sign", readback_sign_print: "Say “yes” to sign and print",
    readback_other: "Any other answer cancels.", readback_empty: "No lines.",
    patients: "Patients", documents_page: "Documents", admin: "Administration", account: "My account",
    certificate_link: "New PC? Install the practice's certificate",
  },
};

const TITLES = { prescription: "Ordonnance", lab_order: "Bon de commande prothèse", medical_certificate: "Certificat médical initial", clinical_report: "Compte rendu" };

const lang = () => localStorage.getItem("chairside.lang") || "fr";
const t = (key) => (STRINGS[lang()] || STRINGS.fr)[key] || key;

function $(selector, root = document) { return root.querySelector(selector); }

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function translate(root = document) {
  document.documentElement.lang = lang();
  root.querySelectorAll("[data-t]").forEach((node) => { node.textContent = t(node.dataset.t); });
  root.querySelectorAll("[data-t-placeholder]").forEach((node) => { node.placeholder = t(node.dataset.tPlaceholder); });
}

const auth = {
  get token() { return sessionStorage.getItem("chairside.token"); },
  get user() { return JSON.parse(sessionStorage.getItem("chairside.user") || "null"); },
  save(login) {
    sessionStorage.setItem("chairside.token", login.token);
    sessionStorage.setItem("chairside.user", JSON.stringify(login.user));
    sessionStorage.setItem("chairside.expires", String(Date.now() + login.expires_in * 1000));
    const lifetime = Math.max(Number(sessionStorage.getItem("chairside.lifetime") || 0), login.expires_in * 1000);
    sessionStorage.setItem("chairside.lifetime", String(lifetime));  // a full token's (a refresh near the session's end gives less)
  },
  clear() { sessionStorage.clear(); },
  require() {
    if (!this.token) { location.replace("index.html"); throw new Error("not logged in"); }
    return this.user;
  },
};

// Logging out revokes the user's tokens on the server (on every device), then forgets this one.
async function logout() {
  await request("/v1/auth/logout", { method: "POST" }).catch(() => {});  // unreachable: the token ends in 15 minutes anyway
  auth.clear();
  location.replace("index.html");
}

// Tokens last 15 minutes (the server's token_ttl_s): refresh them when a
// third of their life is left (a minute at most), looking twice as often. An
// open dictation or screen is told (the "chairside:token" event): it sends
// the fresh token on its connection, which the server would close otherwise.
function keepTokenFresh() {
  const lifetime = Number(sessionStorage.getItem("chairside.lifetime") || 900_000);  // the login's
  const margin = Math.min(60_000, lifetime / 3);
  setInterval(async () => {
    const expires = Number(sessionStorage.getItem("chairside.expires") || 0);
    if (auth.token && expires - Date.now() < margin) {
      const fresh = await (await api("/v1/auth/refresh", { method: "POST" })).json();
      auth.save(fresh);
      window.dispatchEvent(new CustomEvent("chairside:token"));
    }
  }, Math.min(20_000, margin / 2));
}

// A PDF needs the token: fetched, then shown or saved from a blob URL.
async function pdfBlobUrl(url) {
  return URL.createObjectURL(await (await api(url)).blob());
}

// The pages each role has, in the header's order (an admin runs the
// practice's accounts and sees no patient).
const PAGES = {
  dentist: [["dictation", "dictee.html"], ["patients", "patients.html"], ["documents_page", "documents.html"], ["screen", "ecran.html"]],
  assistant: [["screen", "ecran.html"], ["patients", "patients.html"], ["documents_page", "documents.html"]],
  admin: [["admin", "admin.html"]],
};

function home(role) { return (PAGES[role] || PAGES.assistant)[0][1]; }

function header(active) {
  const user = auth.require();
  const link = ([key, href]) => el("a", { href, "data-t": key, ...(active === key ? { class: "active", "aria-current": "page" } : {}) });
  const bar = el("header", { class: "bar" },
    el("span", { class: "brand" }, "Chairside"),
    el("nav", { "aria-label": "Chairside" }, ...(PAGES[user.role] || []).map(link)),
    el("a", { href: "compte.html", class: `who${active === "account" ? " active" : ""}`, title: t("account") }, user.name),
    el("select", { id: "lang", "aria-label": "Langue / Language", onchange: (e) => { localStorage.setItem("chairside.lang", e.target.value); location.reload(); } },
      el("option", { value: "fr" }, "Français"), el("option", { value: "en" }, "English")),
    el("button", { "data-t": "logout", onclick: logout }));
  document.body.prepend(bar);
  $("#lang").value = lang();
  keepTokenFresh();
  return user;
}

// A draft as both pages show it: its title, status and version, its lines
// with their warnings; the line still being dictated (draft.open_line) is
// marked: it grows with the next words until another line begins.
// A drug name close to the formulary's carries a suggestion: with
// ``onAccept`` (the Dictée page) a button accepts it, as "oui" would.
function draftView(draft, onAccept = null) {
  const status = draft.status === "validated" ? t("validated") : t("draft_status");
  const accept = (l, i) => l.suggestion && onAccept
    ? [el("button", { type: "button", class: "accept", onclick: () => onAccept(i) }, `${t("accept")} ${l.suggestion}`)] : [];
  const line = (l, i) => i === draft.open_line
    ? el("li", { class: "open", "aria-live": "polite" }, l.text, el("span", { class: "growing" }, t("open_line")), ...warnings(l), ...accept(l, i))
    : el("li", {}, l.text, ...warnings(l), ...accept(l, i));
  return el("div", {},
    el("h3", {}, TITLES[draft.kind] || draft.kind, el("span", { class: `status ${draft.status}` }, `${status} · ${t("version")} ${draft.version}`),
      ...(draft.secure ? [el("span", { class: "status secure" }, t("secure_rx"))] : [])),
    el("ol", {}, ...draft.lines.map(line)));
}

// A `readback` event as both pages show it: the lines to be signed,
// numbered, and what "oui" now does (nothing pending: "relis").
function readbackView(event) {
  const prompt = event.pending === "validate_and_print" ? t("readback_sign_print") : event.pending === "validate" ? t("readback_sign") : "";
  return el("div", { class: `readback${event.pending ? " pending" : ""}`, role: "status" },
    el("h3", {}, `${t("readback")} — ${event.title} · ${t("version")} ${event.version}`),
    event.lines.length ? el("ol", {}, ...event.lines.map((l) => el("li", { value: l.number }, l.text))) : el("p", { class: "muted" }, t("readback_empty")),
    ...(prompt ? [el("p", { class: "prompt" }, prompt, " ", el("span", { class: "muted" }, t("readback_other")))] : []));
}

function warnings(line) {
  return (line.warnings || []).map((w) => el("span", { class: "warn" }, w));
}


// -- accounts: shared strings and helpers (the setup, account and admin pages) ------------

Object.assign(STRINGS.fr, {
  session_expired: "Votre session a expiré : reconnectez-vous.",
  connection_lost: "Connexion au serveur perdue : vérifiez le réseau, puis réessayez.",
  server_busy: "Le serveur est occupé : réessayez dans quelques secondes.",
  server_busy_for: "Le serveur est occupé : réessayez dans {n} secondes.",
  too_many_attempts_for: "Trop d'essais manqués : patientez {n} secondes avant de réessayer.",
  mic_refused: "Micro refusé : autorisez le micro pour ce site dans le navigateur (icône à gauche de l'adresse), puis rechargez la page.",
  mic_missing: "Aucun micro trouvé : branchez-en un, puis réessayez.",
  close: "Fermer", saved_ok: "Enregistré.", role: "Rôle",
  role_dentist: "Chirurgien-dentiste", role_assistant: "Assistant(e)", role_admin: "Administrateur",
  name: "Nom", full_name: "Nom et prénom", phone: "Téléphone", title: "Qualité", rpps: "N° RPPS",
  rpps_hint: "11 chiffres (carte CPS, Annuaire santé) ; imprimé sur chaque ordonnance.",
  rpps_digits: "Un numéro RPPS compte 11 chiffres.", rpps_luhn: "Ce numéro RPPS n'est pas valide (sa clé de contrôle ne correspond pas) : vérifiez-le.",
  bad_email: "Ce n'est pas une adresse e-mail.", password_min: "12 caractères au moins.",
  password_again: "Mot de passe (confirmation)", passwords_differ: "Les deux mots de passe diffèrent.",
  password_hint: "12 caractères au moins ; une phrase est plus facile à retenir.",
});
Object.assign(STRINGS.en, {
  session_expired: "Your session has expired: sign in again.",
  connection_lost: "Connection to the server lost: check the network, then try again.",
  server_busy: "The server is busy: try again in a few seconds.",
  server_busy_for: "The server is busy: try again in {n} seconds.",
  too_many_attempts_for: "Too many failed attempts: wait {n} seconds before trying again.",
  mic_refused: "Microphone refused: allow the microphone for this site in the browser (the icon left of the address), then reload the page.",
  mic_missing: "No microphone found: plug one in, then try again.",
  close: "Close", saved_ok: "Saved.", role: "Role",
  role_dentist: "Dentist", role_assistant: "Assistant", role_admin: "Administrator",
  name: "Name", full_name: "Full name", phone: "Phone", title: "Title", rpps: "RPPS number",
  rpps_hint: "11 digits (CPS card, Annuaire santé); printed on every prescription.",
  rpps_digits: "An RPPS number has 11 digits.", rpps_luhn: "This RPPS number is not valid (its check digit does not match): check it.",
  bad_email: "Not an e-mail address.", password_min: "12 characters at least.",
  password_again: "Password (again)", passwords_differ: "The two passwords differ.",
  password_hint: "12 characters at least; a sentence is easier to remember.",
});

// What went wrong, for the user: a banner at the top of the page (role=alert)
// with a sentence that says what to do. ``kind`` names the problem, so that
// the same one is not shown twice and clears when it is over.
function showProblem(message, kind = "problem") {
  let banner = $("#problem");
  if (!banner) {
    banner = el("div", { id: "problem", class: "banner hidden", role: "alert" },
      el("span", { id: "problem-text" }),
      el("button", { type: "button", class: "close", "aria-label": t("close"), title: t("close"), onclick: () => clearProblem() }, "×"));
    const bar = $("header.bar");
    if (bar) bar.after(banner); else document.body.prepend(banner);
  }
  banner.dataset.kind = kind;
  $("#problem-text").textContent = message;
  banner.classList.remove("hidden");
}

function clearProblem(kind = null) {
  const banner = $("#problem");
  if (banner && (kind === null || banner.dataset.kind === kind)) {
    banner.classList.add("hidden");
    $("#problem-text").textContent = "";
  }
}

// An API refusal: its HTTP status, its code ("wrong_password", …) and its
// message ("dentist.rpps: …"); status 0 when the server could not be reached.
class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

// A request to the API (``token``: null for the pages one uses before
// logging in). A lost connection and a busy server (503, 429) are shown in
// the banner; any refusal throws an ApiError.
async function request(path, options = {}, { token = auth.token } = {}) {
  let response;
  try {
    response = await fetch(path, {
      ...options,
      headers: { ...(options.body ? { "Content-Type": "application/json" } : {}), ...(options.headers || {}), ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    });
  } catch (error) {
    showProblem(t("connection_lost"), "network");
    throw new ApiError(0, "network", t("connection_lost"));
  }
  clearProblem("network");  // the connection is back
  if (response.status === 503 || response.status === 429) {
    const after = Number(response.headers.get("Retry-After"));  // seconds (an HTTP date gives NaN: "a few seconds")
    const known = after > 0 && after < 3600;
    const sentence = response.status === 429 ? "too_many_attempts_for" : "server_busy_for";  // 429: failed logins, the wait
    showProblem(known ? t(sentence).replace("{n}", Math.ceil(after)) : t("server_busy"), "busy");
    clearTimeout(request.busyTimer);  // the sentence holds until the wait is over
    request.busyTimer = setTimeout(() => clearProblem("busy"), (known ? Math.ceil(after) : 10) * 1000);
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    const error = body.error || {};
    throw new ApiError(response.status, error.code || "", error.message || response.statusText);
  }
  return response;
}

// api() as the pages use it, with the logged-in user's token: as before
// (the response, or an Error with the API's message), and: an expired
// session goes to the login page, which says so; an account that must first
// change its temporary password goes to the page where it does. While the
// browser leaves for that page, the call never ends (the page shows nothing
// of it).
async function api(path, options = {}) {
  try {
    return await request(path, options);
  } catch (error) {
    if (error.status === 401) {
      auth.clear();
      location.replace("index.html?expired=1");
      return new Promise(() => {});
    }
    if (error.status === 403 && error.code === "password_change_required" && !/compte\.html$/.test(location.pathname)) {
      location.replace("compte.html?first=1");
      return new Promise(() => {});
    }
    throw error;
  }
}

// -- forms: a labelled control, its hint, its error next to it ---------------------------

// A field: its label, the control (an <input>, or a <select> when
// ``options`` [[value, text], …] are given), a hint, the slot of its error;
// the control is described by both. ``span``: the grid columns it takes.
function field(id, label, attrs = {}, { hint = "", options = null, span = 1 } = {}) {
  const control = options
    ? el("select", { id, name: id, ...attrs }, ...options.map(([value, text]) => el("option", { value }, text)))
    : el("input", { id, name: id, type: "text", ...attrs });
  const hints = hint ? [el("p", { class: "hint", id: `${id}-hint` }, hint)] : [];
  control.setAttribute("aria-describedby", [...hints.map((h) => h.id), `${id}-error`].join(" "));
  const star = "required" in attrs ? [el("span", { class: "req", "aria-hidden": "true" }, " *")] : [];
  return el("div", { class: `field span${span}` }, el("label", { for: id }, label, ...star), control, ...hints,
    el("p", { class: "field-error", id: `${id}-error` }));
}

function clearFieldErrors(root) {
  root.querySelectorAll(".field-error").forEach((node) => { node.textContent = ""; });
  root.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
  root.querySelectorAll(".error[role=alert]").forEach((node) => { node.textContent = ""; });
}

// A lost connection or a busy server: request() has said so in the banner.
const inBanner = (error) => [0, 429, 503].includes(error.status);

// Shows ``message`` next to the field ``id`` (false when there is no such
// field); the control is marked invalid and, with ``focus``, focused.
function fieldError(id, message, { focus = false } = {}) {
  const slot = document.getElementById(`${id}-error`);
  if (!slot) return false;
  slot.textContent = message;
  const node = document.getElementById(id);
  const control = node && (node.matches("input, select, textarea") ? node : node.querySelector("input, select, textarea"));
  if (control) {
    control.setAttribute("aria-invalid", "true");
    if (focus) control.focus();
  }
  return true;
}

// In ``form``, a field's error goes as soon as the field is edited.
function clearErrorsOnInput(form) {
  form.addEventListener("input", (event) => {
    const control = event.target;
    if (!control.id || control.getAttribute("aria-invalid") !== "true") return;
    control.removeAttribute("aria-invalid");
    const slot = document.getElementById(`${control.id}-error`);
    if (slot) slot.textContent = "";
  });
}

// The API names the field first ("dentist.rpps: …", "phone: …"): the
// refusal goes next to the field ``prefix`` + "dentist-rpps" (or its
// nearest named part), otherwise in ``alert``.
function showApiError(error, prefix, alert) {
  if (inBanner(error)) return;
  const found = /^([a-z_]+(?:\.[a-z0-9_]+)*): ([\s\S]+)$/.exec(error.message || "");
  if (found) {
    const parts = found[1].split(".");
    for (let n = parts.length; n > 0; n--) {
      if (fieldError(prefix + parts.slice(0, n).join("-"), inLang(found[2]), { focus: true })) return;
    }
  }
  alert.textContent = inLang(error.message || String(error));
}

// The API speaks English: the refusals of these pages, in French.
const ACCOUNT_ERRORS_FR = [
  [/an RPPS number has 11 digits/, () => t("rpps_digits")],
  [/check digit is wrong/, () => t("rpps_luhn")],
  [/RPPS number is printed on every document/, () => "Le numéro RPPS du chirurgien-dentiste est obligatoire : il figure sur chaque document."],
  [/only a dentist has an RPPS/, () => "Seul un chirurgien-dentiste a un numéro RPPS."],
  [/not (?:a valid|a) phone number/, () => "Numéro de téléphone invalide (ex. : 04 78 00 00 01)."],
  [/not an e-mail address/, () => t("bad_email")],
  [/needs an e-mail/, () => "Obligatoire."],
  [/at least (\d+) characters/, (m) => `${m[1]} caractères au moins.`],
  [/at most (\d+) characters/, (m) => `${m[1]} caractères au plus.`],
  [/e-mail .* exists already|e-mail .* in use/, () => "Cette adresse e-mail est déjà celle d'un compte."],
  [/needs a name/, () => "Obligatoire."],
  [/the new password is the current one/, () => "Le nouveau mot de passe doit être différent de l'actuel."],
  [/current password is wrong/, () => "Mot de passe actuel incorrect."],
  [/two rooms have the same name|has a room named/, () => "Deux fauteuils ne peuvent pas porter le même nom."],
  [/at least one room/, () => "Il faut au moins un fauteuil, chacun avec un nom."],
  [/cannot disable themselves/, () => "Vous ne pouvez ni désactiver votre propre compte, ni renoncer à votre rôle d'administrateur."],
  [/^required/, () => "Obligatoire."],
];

function inLang(message) {
  if (lang() !== "fr") return message;
  for (const [pattern, say] of ACCOUNT_ERRORS_FR) {
    const found = pattern.exec(message);
    if (found) return say(found);
  }
  return message;
}

// Client-side checks, before the server's own.
function luhnValid(digits) {
  let total = 0;
  [...digits].reverse().forEach((c, i) => { const d = Number(c) * (i % 2 ? 2 : 1); total += d > 9 ? d - 9 : d; });
  return total % 10 === 0;
}

function rppsProblem(value) {  // "" when fine (or empty)
  const digits = value.replace(/\s/g, "");
  if (!digits) return "";
  if (!/^\d{11}$/.test(digits)) return t("rpps_digits");
  return luhnValid(digits) ? "" : t("rpps_luhn");
}

const emailLooksRight = (value) => /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value.trim());
// -- patients, shared by the Dictée, Patients and Documents pages ---------------------

Object.assign(STRINGS.fr, {
  find_patient: "Rechercher un patient", find_patient_hint: "Nom, prénom, code ou date de naissance (jj/mm/aaaa).",
  found_none: "Aucun patient trouvé.", found_one: "1 patient trouvé.", found_many: "{n} patients trouvés.",
});
Object.assign(STRINGS.en, {
  find_patient: "Find a patient", find_patient_hint: "Last or first name, code, or date of birth (dd/mm/yyyy).",
  found_none: "No patient found.", found_one: "1 patient found.", found_many: "{n} patients found.",
});

const colon = () => (lang() === "fr" ? " : " : ": ");

// Accents, case and spacing ignored: "élodie" finds "Élodie", "ELODIE", "Elodie".
function fold(text) {
  return String(text ?? "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/\s+/g, " ").trim();
}

// A date typed in a search (07/03/1984, 7-3-1984, 07.03.1984 or 1984-03-07):
// { date: "1984-03-07" or null, rest: the other words }.
function dateInQuery(query) {
  const text = String(query || "");
  let found = /\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b/.exec(text);
  let date = null;
  if (found) date = `${found[3]}-${found[2].padStart(2, "0")}-${found[1].padStart(2, "0")}`;
  else if ((found = /\b(\d{4})-(\d{2})-(\d{2})\b/.exec(text))) date = found[0];
  return { date, rest: found ? (text.slice(0, found.index) + " " + text.slice(found.index + found[0].length)).trim() : text.trim() };
}

// Whether a patient answers a search: every word in their names or code, in
// any order; a date, their birth date.
function patientMatches(patient, query) {
  const { date, rest } = dateInQuery(query);
  if (date && patient.birth_date !== date) return false;
  const haystack = fold(`${patient.last_name} ${patient.first_name} ${patient.code}`);
  return fold(rest).split(" ").filter(Boolean).every((word) => haystack.includes(word));
}

// What to send the API's ?q= for a search (it matches one piece of "last
// first code", accents counted, or a birth date when q is one): the longest
// word, else the date alone; the rest is filtered here.
function apiPatientQuery(query) {
  const { date, rest } = dateInQuery(query);
  const words = rest.split(/\s+/).filter(Boolean);
  return words.sort((a, b) => b.length - a.length)[0] || date || "";
}

function patientName(p) {
  return `${p.last_name.toUpperCase()} ${p.first_name}`;
}

function foundText(n) {
  return n === 0 ? t("found_none") : n === 1 ? t("found_one") : t("found_many").replace("{n}", n);
}

// What a prescriber must know of a patient, as chips (the warnings marked).
function patientFacts(p) {
  const fact = (text, warn = false) => el("span", { class: warn ? "fact warn" : "fact" }, text);
  const facts = [];
  if (p.allergies.length) facts.push(fact(`⚠ ${t("allergy_short")}${colon()}${p.allergies.join(", ")}`, true));
  if (p.pregnancy_weeks !== null) facts.push(fact(`${t("pregnant")} (${p.pregnancy_weeks} ${t("weeks")})`, true));
  if (p.breastfeeding) facts.push(fact(t("breastfeeding_short"), true));
  if (p.anticoagulant) facts.push(fact(t("anticoagulant_short"), true));
  if (p.antiplatelet) facts.push(fact(t("antiplatelet_short"), true));
  if (p.renal_failure) facts.push(fact(`${t("renal_failure")} ${t(`failure_${p.renal_failure}`)}`, true));
  if (p.hepatic_failure) facts.push(fact(`${t("hepatic_failure")} ${t(`failure_${p.hepatic_failure}`)}`, true));
  return facts.length ? facts : [fact(t("no_precaution"))];
}

// A search box that narrows a <select> of patients as one types, so that
// choosing one is one step: a single match is chosen at once, Enter chooses
// the first, ArrowDown goes to the list, Escape clears the search.
// ``items()`` gives [{ value, label, patient }]; ``blank`` is the first
// option (no choice); ``onChoose(value)`` is called when the choice changes;
// ``more(query)`` (optional) fetches more patients (the API's search) and
// resolves when ``items()`` holds them; ``status`` (optional) is a live
// region told how many match.
function narrowingSelect(input, select, { items, blank, onChoose, more = null, status = null }) {
  let timer = null;
  let asked = 0;
  function render(autoChoose = false) {
    const query = input.value.trim();
    const all = items();
    const shown = query ? all.filter((item) => patientMatches(item.patient, query)) : all;
    const current = select.value;
    select.replaceChildren(el("option", { value: "" }, blank), ...shown.map((item) => el("option", { value: item.value }, item.label)));
    let value = shown.some((item) => item.value === current) ? current : "";
    if (autoChoose && query && shown.length === 1) value = shown[0].value;
    select.value = value;
    if (status) status.textContent = query ? foundText(shown.length) : "";
    if (value !== current) onChoose(value);
    return shown;
  }
  input.addEventListener("input", () => {
    render(true);
    clearTimeout(timer);
    if (!more || !input.value.trim()) return;
    const mine = ++asked;
    timer = setTimeout(async () => {
      try { await more(input.value.trim()); } catch (error) { console.info("patient search:", error.message); return; }
      if (mine === asked) render(true);
    }, 250);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      if (!input.value.trim()) { select.focus(); return; }
      const first = select.options[1];
      if (first && select.value !== first.value) { select.value = first.value; onChoose(first.value); }
      select.focus();
    } else if (event.key === "ArrowDown") {
      event.preventDefault();
      select.focus();
    } else if (event.key === "Escape" && input.value) {
      event.preventDefault();
      input.value = "";
      render();
    }
  });
  return {
    render,
    clear() {  // no search, no choice
      const had = select.value;
      input.value = "";
      render();
      select.value = "";
      if (had) onChoose("");
    },
  };
}

// Dates as people read them: a day ("1984-03-07") and a time (an ISO timestamp).
function formatDay(day) {
  if (!day) return "";
  const [y, m, d] = day.split("-").map(Number);
  return new Intl.DateTimeFormat(lang(), { dateStyle: "medium", timeZone: "UTC" }).format(new Date(Date.UTC(y, m - 1, d)));
}

function formatTime(iso) {
  return iso ? new Intl.DateTimeFormat(lang(), { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso)) : "";
}

// The local day ("YYYY-MM-DD") of an ISO timestamp, to compare with a date field.
function localDay(iso) {
  const d = new Date(iso);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

// Save a blob (a PDF, a zip, a FHIR Bundle) under a file name.
function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: filename, class: "hidden" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// The file name a response's Content-Disposition gives, else ``fallback``.
function responseFilename(response, fallback) {
  const found = /filename="?([^";]+)"?/.exec(response.headers.get("Content-Disposition") || "");
  return found ? found[1] : fallback;
}

// -- a validated document's PDF and FHIR Bundle, shared by the Patients and Documents pages --

function withParam(url, name, value) {
  const u = new URL(url, location.origin);
  u.searchParams.set(name, value);
  return u.pathname + u.search;
}

// Open the PDF in a new tab (from a blob: the token never goes in a URL).
async function openPdf(url) {
  window.open(await pdfBlobUrl(url), "_blank", "noopener");
}

// Save it (?download=1), under the name the server gives it ("2026-0012-v1.pdf").
async function downloadPdf(url, fallback = "document.pdf") {
  const response = await api(withParam(url, "download", "1"));
  saveBlob(await response.blob(), responseFilename(response, fallback));
}

// Print it: loaded in a hidden frame whose print dialog opens; where the
// browser cannot print a PDF from a frame, it opens in a tab to print from.
async function printPdf(url) {
  const blobUrl = await pdfBlobUrl(url);
  document.querySelectorAll("iframe.print-frame").forEach((old) => old.remove());
  const frame = el("iframe", { class: "print-frame", src: blobUrl, title: t("print"), "aria-hidden": "true", tabindex: "-1" });
  frame.addEventListener("load", () => {
    try {
      frame.contentWindow.focus();
      frame.contentWindow.print();
    } catch (error) {
      console.info("printing from a frame failed, opening the PDF:", error.message);
      window.open(blobUrl, "_blank", "noopener");
    }
  }, { once: true });
  document.body.append(frame);
}

// Save the FHIR R4B document Bundle of a version.
async function downloadFhir(url, filename) {
  saveBlob(await (await api(url)).blob(), filename);
}
