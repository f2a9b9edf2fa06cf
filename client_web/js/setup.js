"use strict";
// The first start: while the store has no practice, this page creates it —
// its details, its first administrator and dentist (each choosing their own
// password), its rooms — in one POST /v1/setup; then the dentist is logged
// in. From another machine than the server's, the one-time setup code that
// the server printed in its log is asked for too. The server checks
// everything again; its refusals name their field ("dentist.rpps: …") and
// are shown next to it.

Object.assign(STRINGS.fr, {
  setup_title: "Installation du cabinet",
  setup_intro: "Bienvenue. Ces informations figurent sur les ordonnances et les documents du cabinet ; vous pourrez les modifier ensuite (page Administration).",
  required_note: "Les champs marqués * sont obligatoires.",
  setup_code: "Code d'installation", setup_code_label: "Code affiché par le serveur",
  setup_code_hint: "Le serveur l'a écrit dans son journal (la fenêtre ou le fichier de log où il a démarré). Il garantit que c'est bien vous qui installez ce cabinet.",
  setup_code_required: "Saisissez le code d'installation affiché par le serveur.",
  wrong_setup_code: "Ce code ne correspond pas : recopiez celui du journal du serveur.",
  practice: "Le cabinet", practice_name: "Nom du cabinet", street: "Adresse", postcode: "Code postal", city: "Ville",
  practice_email: "E-mail du cabinet",
  first_admin: "Son administrateur", first_admin_hint: "Gère les comptes, les fauteuils et les coordonnées du cabinet ; ne voit pas les patients.",
  first_dentist: "Le chirurgien-dentiste", first_dentist_hint: "Il dicte et signe les documents ; il sera connecté à la fin de l'installation.",
  rooms_legend: "Les fauteuils", rooms_hint: "Une dictée se fait dans un fauteuil ; l'assistant(e) le suit sur son écran.",
  room_name: "Nom du fauteuil", add_room: "Ajouter un fauteuil",
  setup_submit: "Installer le cabinet", setting_up: "Installation…",
  same_email: "Les deux comptes doivent avoir des e-mails différents.",
  already_set_up: "Ce cabinet est déjà installé : connectez-vous.", sign_in_link: "Aller à la connexion",
  one_room: "Il faut au moins un fauteuil.", same_room: "Deux fauteuils ne peuvent pas porter le même nom.",
});
Object.assign(STRINGS.en, {
  setup_title: "Setting up the practice",
  setup_intro: "Welcome. These details are printed on the practice's prescriptions and documents; you can change them later (Administration page).",
  required_note: "Fields marked * are required.",
  setup_code: "Setup code", setup_code_label: "Code shown by the server",
  setup_code_hint: "The server wrote it in its log (the window or log file where it started). It proves that you are the one setting up this practice.",
  setup_code_required: "Enter the setup code shown by the server.",
  wrong_setup_code: "This code does not match: copy the one in the server's log.",
  practice: "The practice", practice_name: "Practice name", street: "Address", postcode: "Postcode", city: "City",
  practice_email: "Practice e-mail",
  first_admin: "Its administrator", first_admin_hint: "Runs the accounts, the chairs and the practice's details; sees no patient.",
  first_dentist: "The dentist", first_dentist_hint: "Dictates and signs the documents; signed in when the setup is done.",
  rooms_legend: "The chairs", rooms_hint: "A dictation happens at a chair; the assistant follows it on their screen.",
  room_name: "Chair name", add_room: "Add a chair",
  setup_submit: "Set up the practice", setting_up: "Setting up…",
  same_email: "The two accounts need different e-mails.",
  already_set_up: "This practice is set up already: sign in.", sign_in_link: "Go to sign in",
  one_room: "At least one chair is needed.", same_room: "Two chairs cannot have the same name.",
});

const P = "setup-";  // ids: setup-practice-name, setup-dentist-rpps, setup-rooms-0, setup-code…
const value = (id) => $(`#${P}${id}`).value.trim();

function group(legend, hint, ...children) {
  return el("fieldset", {}, el("legend", {}, legend), ...(hint ? [el("p", { class: "hint legend-hint" }, hint)] : []),
    el("div", { class: "grid4" }, ...children));
}

function personFields(part, withDentist) {
  const f = (name, label, attrs, options) => field(`${P}${part}-${name}`, label, attrs, options);
  return [
    f("name", t("full_name"), { required: "", autocomplete: "off" }, { span: 2 }),
    f("email", t("email"), { type: "email", required: "", autocomplete: "off" }, { span: 2 }),
    ...(withDentist ? [
      f("title", t("title"), { required: "", value: "Chirurgien-dentiste" }),
      f("phone", t("phone"), { type: "tel", autocomplete: "off" }),
      f("rpps", t("rpps"), { required: "", inputmode: "numeric", maxlength: "14", autocomplete: "off" }, { span: 2, hint: t("rpps_hint") }),
    ] : []),
    f("password", t("password"), { type: "password", required: "", autocomplete: "new-password" }, { span: 2, hint: t("password_hint") }),
    f("password2", t("password_again"), { type: "password", required: "", autocomplete: "new-password" }, { span: 2 }),
  ];
}

function build(codeRequired) {
  const f = (name, label, attrs, options) => field(`${P}practice-${name}`, label, attrs, options);
  $("#setup-fields").replaceChildren(
    el("fieldset", { id: "code-group", class: codeRequired ? "" : "hidden" }, el("legend", {}, t("setup_code")),
      field(`${P}code`, t("setup_code_label"), { autocomplete: "off", spellcheck: "false", ...(codeRequired ? { required: "" } : {}) },
        { hint: t("setup_code_hint") })),
    group(t("practice"), "",
      f("name", t("practice_name"), { required: "", autocomplete: "organization" }, { span: 2 }),
      f("street", t("street"), { required: "", autocomplete: "street-address" }, { span: 2 }),
      f("postcode", t("postcode"), { required: "", autocomplete: "postal-code", inputmode: "numeric" }),
      f("city", t("city"), { required: "", autocomplete: "address-level2" }),
      f("phone", t("phone"), { type: "tel", required: "", autocomplete: "tel" }),
      f("email", t("practice_email"), { type: "email", autocomplete: "email" })),
    group(t("first_admin"), t("first_admin_hint"), ...personFields("admin", false)),
    group(t("first_dentist"), t("first_dentist_hint"), ...personFields("dentist", true)),
    el("fieldset", { id: `${P}rooms` }, el("legend", {}, t("rooms_legend")), el("p", { class: "hint legend-hint" }, t("rooms_hint")),
      el("ul", { class: "room-list", id: "room-list" }),
      el("p", { class: "field-error", id: `${P}rooms-error` }),
      el("button", { type: "button", id: "add-room", onclick: addRoom }, `+ ${t("add_room")}`)));
  renderRooms([`${t("room")} 1`]);
  $(`#${P}dentist-rpps`).addEventListener("change", (event) => {
    const problem = rppsProblem(event.target.value);
    $(`#${P}dentist-rpps-error`).textContent = problem;
    if (problem) event.target.setAttribute("aria-invalid", "true"); else event.target.removeAttribute("aria-invalid");
  });
}

// -- the rooms: a list of names, one added or removed at a time --------------------------

const roomNames = () => [...document.querySelectorAll("#room-list input")].map((input) => input.value);

function renderRooms(names, focus = null) {
  $("#room-list").replaceChildren(...names.map((name, i) => {
    const id = `${P}rooms-${i}`;
    return el("li", {},
      el("label", { for: id, class: "sr-only" }, `${t("room_name")} ${i + 1}`),
      el("input", { id, value: name, required: "", autocomplete: "off", "aria-describedby": `${id}-error` }),
      el("button", { type: "button", class: "remove", "aria-label": `${t("remove")} ${name || i + 1}`, title: t("remove"),
        ...(names.length === 1 ? { disabled: "" } : {}), onclick: () => removeRoom(i) }, t("remove")),
      el("p", { class: "field-error", id: `${id}-error` }));
  }));
  if (focus !== null) {
    const input = $(`#${P}rooms-${focus}`);
    if (input) { input.focus(); input.select(); } else $("#add-room").focus();
  }
}

function addRoom() {
  const names = roomNames();
  renderRooms([...names, `${t("room")} ${names.length + 1}`], names.length);
}

function removeRoom(index) {
  const names = roomNames();
  names.splice(index, 1);
  renderRooms(names, Math.min(index, names.length - 1));
}

// -- checks, then the request --------------------------------------------------------------

function check() {
  const problems = [];
  const need = (id) => { if (!value(id)) problems.push([id, t("required")]); };
  if (!$("#code-group").classList.contains("hidden")) need("code");
  ["practice-name", "practice-street", "practice-postcode", "practice-city", "practice-phone"].forEach(need);
  if (value("practice-email") && !emailLooksRight(value("practice-email"))) problems.push(["practice-email", t("bad_email")]);
  for (const part of ["admin", "dentist"]) {
    need(`${part}-name`);
    if (part === "dentist") need("dentist-title");
    const email = value(`${part}-email`);
    if (!email) problems.push([`${part}-email`, t("required")]);
    else if (!emailLooksRight(email)) problems.push([`${part}-email`, t("bad_email")]);
    if (part === "dentist") {
      if (!value("dentist-rpps")) problems.push(["dentist-rpps", t("required")]);
      else if (rppsProblem(value("dentist-rpps"))) problems.push(["dentist-rpps", rppsProblem(value("dentist-rpps"))]);
    }
    const password = $(`#${P}${part}-password`).value;
    if (!password) problems.push([`${part}-password`, t("required")]);
    else if (password.length < 12) problems.push([`${part}-password`, t("password_min")]);
    else if ($(`#${P}${part}-password2`).value !== password) problems.push([`${part}-password2`, t("passwords_differ")]);
  }
  if (value("admin-email") && value("admin-email").toLowerCase() === value("dentist-email").toLowerCase()) {
    problems.push(["dentist-email", t("same_email")]);
  }
  const names = roomNames().map((n) => n.trim());
  if (!names.length) problems.push(["rooms", t("one_room")]);
  names.forEach((name, i) => {
    if (!name) problems.push([`rooms-${i}`, t("required")]);
    else if (names.findIndex((other) => other.toLowerCase() === name.toLowerCase()) < i) problems.push([`rooms-${i}`, t("same_room")]);
  });
  return problems;
}

async function submit(event) {
  event.preventDefault();
  const form = $("#setup");
  clearFieldErrors(form);
  const problems = check();
  if (problems.length) {
    problems.forEach(([id, message], i) => fieldError(P + id, message, { focus: i === 0 }));
    return;
  }
  const person = (part) => ({ name: value(`${part}-name`), email: value(`${part}-email`), password: $(`#${P}${part}-password`).value });
  const body = {
    practice: Object.fromEntries(["name", "street", "postcode", "city", "phone", "email"].map((k) => [k, value(`practice-${k}`)])),
    admin: person("admin"),
    dentist: { ...person("dentist"), title: value("dentist-title"), rpps: value("dentist-rpps").replace(/\s/g, ""), phone: value("dentist-phone") },
    rooms: roomNames().map((n) => n.trim()),
  };
  if (!$("#code-group").classList.contains("hidden")) body.code = value("code");
  const button = $("#setup-submit");
  button.disabled = true;
  button.textContent = t("setting_up");
  try {
    await request("/v1/setup", { method: "POST", body: JSON.stringify(body) }, { token: null });
  } catch (error) {
    button.disabled = false;
    button.textContent = t("setup_submit");
    refused(error);
    return;
  }
  try {  // the practice exists: its dentist is logged in
    const login = await (await request("/v1/auth/login", { method: "POST", body: JSON.stringify({ email: body.dentist.email, password: body.dentist.password }) },
      { token: null })).json();
    auth.save(login);
    location.replace(login.user.must_change_password ? "compte.html?first=1" : home(login.user.role));
  } catch (error) {
    location.replace("index.html");
  }
}

function refused(error) {
  const alert = $("#setup-alert");
  if (error.code === "already_set_up") {
    alert.replaceChildren(t("already_set_up"), " ", el("a", { href: "index.html" }, t("sign_in_link")));
  } else if (error.code === "setup_code_required" || error.code === "wrong_setup_code") {
    $("#code-group").classList.remove("hidden");
    fieldError(`${P}code`, t(error.code), { focus: true });
  } else {
    showApiError(error, P, alert);
  }
}

async function load() {
  let setup;
  try {
    setup = await (await request("/v1/setup", {}, { token: null })).json();
  } catch (error) {
    return;  // the banner says why
  }
  if (!setup.needed) { location.replace("index.html"); return; }
  translate();
  build(setup.code_required);
  $("#setup").classList.remove("hidden");
  $("#setup").addEventListener("submit", submit);
  clearErrorsOnInput($("#setup"));
  $(setup.code_required ? `#${P}code` : `#${P}practice-name`).focus();
}

load();
