"use strict";
// The administrator's page: the practice's details (printed on its
// documents), its users (added with a temporary password that they change
// at their first login; their role changed; disabled and enabled again —
// never oneself), its rooms (added, renamed).

Object.assign(STRINGS.fr, {
  practice_details: "Le cabinet", practice_details_hint: "Imprimé sur les ordonnances et documents ; un document déjà signé garde les coordonnées de sa signature.",
  practice_name: "Nom du cabinet", street: "Adresse", postcode: "Code postal", city: "Ville", country: "Pays",
  rooms_title: "Fauteuils", room_name: "Nom du fauteuil", rename: "Renommer", new_room: "Nouveau fauteuil", room_added: "Fauteuil ajouté.",
  room_renamed: "Fauteuil renommé.", no_room: "Aucun fauteuil : ajoutez-en un pour dicter.",
  users: "Utilisateurs", status: "Statut", actions: "Actions", you: "vous",
  active: "Actif", disabled: "Désactivé", temporary: "Mot de passe temporaire",
  disable: "Désactiver", enable: "Réactiver", role_of: "Rôle de", role_changed: "Rôle changé : {name} est maintenant {role}.",
  user_disabled: "{name} ne peut plus se connecter.", user_enabled: "{name} peut de nouveau se connecter.",
  drop_rpps: "{name} perdra son numéro RPPS ({rpps}), qui n'est que celui d'un chirurgien-dentiste. Continuer ?",
  add_user: "Ajouter un utilisateur", temp_password: "Mot de passe temporaire", generate: "Générer",
  temp_password_hint: "À transmettre à la personne : elle devra le changer à sa première connexion (12 caractères au moins).",
  rpps_for_dentist: "Un chirurgien-dentiste a besoin de son RPPS pour signer ses documents.",
  user_added: "Compte créé pour {name} : transmettez-lui son e-mail et le mot de passe temporaire ; il devra le changer à sa première connexion.",
});
Object.assign(STRINGS.en, {
  practice_details: "The practice", practice_details_hint: "Printed on prescriptions and documents; a document already signed keeps the details it was signed with.",
  practice_name: "Practice name", street: "Address", postcode: "Postcode", city: "City", country: "Country",
  rooms_title: "Chairs", room_name: "Chair name", rename: "Rename", new_room: "New chair", room_added: "Chair added.",
  room_renamed: "Chair renamed.", no_room: "No chair: add one to dictate.",
  users: "Users", status: "Status", actions: "Actions", you: "you",
  active: "Active", disabled: "Disabled", temporary: "Temporary password",
  disable: "Disable", enable: "Enable", role_of: "Role of", role_changed: "Role changed: {name} is now {role}.",
  user_disabled: "{name} can no longer sign in.", user_enabled: "{name} can sign in again.",
  drop_rpps: "{name} will lose their RPPS number ({rpps}), which only a dentist has. Go on?",
  add_user: "Add a user", temp_password: "Temporary password", generate: "Generate",
  temp_password_hint: "To give to the person: they will have to change it at their first sign-in (12 characters at least).",
  rpps_for_dentist: "A dentist needs their RPPS number to sign their documents.",
  user_added: "Account created for {name}: give them their e-mail and the temporary password; they will change it at their first sign-in.",
});

const me = header("admin");
translate();
const say = (key, values) => Object.entries(values).reduce((text, [k, v]) => text.replace(`{${k}}`, v), t(key));
const ROLES = ["dentist", "assistant", "admin"];
let practice = null;
let users = [];

// -- the practice ---------------------------------------------------------------------

const PRACTICE = ["name", "street", "postcode", "city", "country", "phone", "email"];

function showPractice() {
  const f = (name, label, attrs = {}, options = {}) => field(`pr-${name}`, label, { value: practice[name] || "", ...attrs }, options);
  $("#practice-fields").replaceChildren(
    f("name", t("practice_name"), { required: "", autocomplete: "organization" }, { span: 2 }),
    f("street", t("street"), { autocomplete: "street-address" }, { span: 2 }),
    f("postcode", t("postcode"), { autocomplete: "postal-code", inputmode: "numeric" }),
    f("city", t("city"), { autocomplete: "address-level2" }),
    f("country", t("country"), { autocomplete: "country-name" }),
    f("phone", t("phone"), { type: "tel", autocomplete: "tel" }),
    f("email", t("email"), { type: "email", autocomplete: "email" }, { span: 2 }));
}

async function savePractice(event) {
  event.preventDefault();
  clearFieldErrors($("#practice-form"));
  $("#practice-saved").textContent = "";
  const changes = Object.fromEntries(PRACTICE.map((k) => [k, $(`#pr-${k}`).value.trim()]).filter(([k, v]) => v !== (practice[k] || "")));
  if ("name" in changes && !changes.name) { fieldError("pr-name", t("required"), { focus: true }); return; }
  if (changes.email && !emailLooksRight(changes.email)) { fieldError("pr-email", t("bad_email"), { focus: true }); return; }
  if (!Object.keys(changes).length) { $("#practice-saved").textContent = t("saved_ok"); return; }
  $("#practice-save").disabled = true;
  try {
    practice = await (await api("/v1/practice", { method: "PATCH", body: JSON.stringify(changes) })).json();
  } catch (error) {
    showApiError(error, "pr-", $("#practice-alert"));
    return;
  } finally {
    $("#practice-save").disabled = false;
  }
  PRACTICE.forEach((k) => { $(`#pr-${k}`).value = practice[k] || ""; });  // as kept (a phone in international form)
  $("#practice-saved").textContent = t("saved_ok");
}

// -- the users --------------------------------------------------------------------------

function userRow(u) {
  const self = u.id === me.id;
  const role = self
    ? el("span", {}, t(`role_${u.role}`))
    : el("select", { id: `user-${u.id}-role`, "aria-label": `${t("role_of")} ${u.name}`, onchange: (e) => changeRole(u, e.target) },
      ...ROLES.map((r) => el("option", { value: r, ...(r === u.role ? { selected: "" } : {}) }, t(`role_${r}`))));
  const status = u.disabled ? ["disabled", t("disabled")] : u.must_change_password ? ["temporary", t("temporary")] : ["active", t("active")];
  const action = self ? [] : [el("button", { type: "button", id: `user-${u.id}-toggle`, class: u.disabled ? "" : "quiet-danger",
    "aria-label": `${u.disabled ? t("enable") : t("disable")} ${u.name}`, onclick: () => toggle(u) }, u.disabled ? t("enable") : t("disable"))];
  return el("tr", { class: u.disabled ? "off" : "", "data-user": u.id },
    el("th", { scope: "row" }, u.name, ...(self ? [el("span", { class: "muted" }, ` (${t("you")})`)] : [])),
    el("td", {}, u.email), el("td", {}, role), el("td", { class: "mono" }, u.rpps || "—"),
    el("td", {}, el("span", { class: `badge ${status[0]}` }, status[1])), el("td", { class: "actions" }, ...action));
}

async function loadUsers(focus = null) {
  users = await (await api("/v1/users")).json();
  $("#user-rows").replaceChildren(...users.map(userRow));
  if (focus) { const node = document.getElementById(focus); if (node) node.focus(); }
}

async function patchUser(u, changes, done, focus) {
  clearFieldErrors($("#users-alert").parentNode);
  $("#users-saved").textContent = "";
  try {
    await api(`/v1/users/${u.id}`, { method: "PATCH", body: JSON.stringify(changes) });
    $("#users-saved").textContent = done;
  } catch (error) {
    if (!inBanner(error)) $("#users-alert").textContent = `${u.name}${lang() === "fr" ? " : " : ": "}${inLang(error.message.replace(/^[a-z_]+: /, ""))}`;
  }
  await loadUsers(focus);
}

function changeRole(u, select) {
  const role = select.value;
  const changes = { role };
  if (u.rpps && role !== "dentist") {
    if (!confirm(say("drop_rpps", { name: u.name, rpps: u.rpps }))) { select.value = u.role; return; }
    changes.rpps = "";
  }
  patchUser(u, changes, say("role_changed", { name: u.name, role: t(`role_${role}`).toLowerCase() }), select.id);
}

function toggle(u) {
  patchUser(u, { disabled: !u.disabled }, say(u.disabled ? "user_enabled" : "user_disabled", { name: u.name }), `user-${u.id}-toggle`);
}

// A field's control with a button on its right.
function withButton(control, button) {
  const row = el("div", { class: "inline" });
  control.replaceWith(row);
  row.append(control, button);
}

// -- adding a user ----------------------------------------------------------------------

function temporaryPassword() {  // 12 random characters, easy to read out and type: "kq7m-tz4p-wx9h"
  const alphabet = "abcdefghjkmnpqrstuvwxyz23456789";
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  const chars = [...bytes].map((b) => alphabet[b % alphabet.length]).join("");
  return chars.match(/.{4}/g).join("-");
}

function showUserForm() {
  const f = (name, label, attrs = {}, options = {}) => field(`nu-${name}`, label, attrs, options);
  const password = f("password", t("temp_password"), { required: "", autocomplete: "off", spellcheck: "false", class: "mono" },
    { span: 2, hint: t("temp_password_hint") });
  const input = $("input", password);
  withButton(input, el("button", { type: "button", id: "nu-generate", onclick: () => { input.value = temporaryPassword(); input.focus(); input.select(); } },
    t("generate")));
  $("#user-add-fields").replaceChildren(
    f("name", t("full_name"), { required: "", autocomplete: "off" }, { span: 2 }),
    f("email", t("email"), { type: "email", required: "", autocomplete: "off" }, { span: 2 }),
    f("role", t("role"), {}, { options: ROLES.map((r) => [r, t(`role_${r}`)]) }),
    f("phone", t("phone"), { type: "tel", autocomplete: "off" }),
    f("rpps", t("rpps"), { inputmode: "numeric", maxlength: "14", autocomplete: "off" }, { span: 2, hint: t("rpps_hint") }),
    password);
  $("#nu-role").value = "assistant";
  $("#nu-role").addEventListener("change", roleChosen);
  roleChosen();
}

function roleChosen() {
  const dentist = $("#nu-role").value === "dentist";
  $("#nu-rpps").closest(".field").classList.toggle("hidden", !dentist);
  if (!dentist) $("#nu-rpps").value = "";
}

async function addUser(event) {
  event.preventDefault();
  const form = $("#user-add");
  clearFieldErrors(form);
  $("#user-add-saved").textContent = "";
  const v = (name) => $(`#nu-${name}`).value.trim();
  const problems = [];
  if (!v("name")) problems.push(["name", t("required")]);
  if (!v("email")) problems.push(["email", t("required")]);
  else if (!emailLooksRight(v("email"))) problems.push(["email", t("bad_email")]);
  if (v("role") === "dentist" && rppsProblem(v("rpps"))) problems.push(["rpps", rppsProblem(v("rpps"))]);
  if (!v("password")) problems.push(["password", t("required")]);
  else if (v("password").length < 12) problems.push(["password", t("password_min")]);
  if (problems.length) { problems.forEach(([id, message], i) => fieldError(`nu-${id}`, message, { focus: i === 0 })); return; }
  const body = { name: v("name"), email: v("email"), role: v("role"), password: v("password"), temporary_password: true,
    ...(v("phone") ? { phone: v("phone") } : {}), ...(v("role") === "dentist" && v("rpps") ? { rpps: v("rpps").replace(/\s/g, "") } : {}) };
  $("#user-add-save").disabled = true;
  try {
    await api("/v1/users", { method: "POST", body: JSON.stringify(body) });
  } catch (error) {
    showApiError(error, "nu-", $("#user-add-alert"));
    return;
  } finally {
    $("#user-add-save").disabled = false;
  }
  form.reset();
  $("#nu-role").value = "assistant";
  roleChosen();
  $("#user-add-saved").textContent = say("user_added", { name: body.name }) + (body.role === "dentist" && !body.rpps ? ` ${t("rpps_for_dentist")}` : "");
  await loadUsers();
}

// -- the rooms --------------------------------------------------------------------------

function roomItem(room) {
  const id = `room-${room.id}`;
  const input = el("input", { id, value: room.name, required: "", autocomplete: "off", "aria-describedby": `${id}-error` });
  return el("li", {},
    el("form", { class: "inline", novalidate: "", onsubmit: (e) => { e.preventDefault(); renameRoom(room, input); } },
      el("label", { for: id, class: "sr-only" }, `${t("room_name")} (${room.name})`), input,
      el("button", { type: "submit", "aria-label": `${t("rename")} ${room.name}` }, t("rename"))),
    ...(room.live ? [el("span", { class: "live" }, t("live"))] : []),
    el("p", { class: "field-error", id: `${id}-error` }));
}

async function loadRooms(focus = null) {
  const rooms = await (await api("/v1/rooms")).json();
  $("#room-list").replaceChildren(...(rooms.length ? rooms.map(roomItem) : [el("li", { class: "muted" }, t("no_room"))]));
  if (focus) { const node = document.getElementById(focus); if (node) node.focus(); }
}

async function renameRoom(room, input) {
  clearFieldErrors($("#room-list").parentNode);
  $("#rooms-saved").textContent = "";
  const name = input.value.trim();
  if (!name) { fieldError(input.id, t("required"), { focus: true }); return; }
  if (name === room.name) return;
  try {
    await api(`/v1/rooms/${room.id}`, { method: "PATCH", body: JSON.stringify({ name }) });
  } catch (error) {
    if (!inBanner(error)) fieldError(input.id, inLang(error.message.replace(/^[a-z_]+: /, "")), { focus: true });
    return;
  }
  $("#rooms-saved").textContent = t("room_renamed");
  await loadRooms(input.id);
}

function showRoomForm() {
  const add = field("room-new", t("new_room"), { autocomplete: "off" });
  withButton($("input", add), el("button", { type: "submit", id: "room-add-save" }, t("add")));
  $("#room-add").replaceChildren(add);
}

async function addRoom(event) {
  event.preventDefault();
  clearFieldErrors($("#room-list").parentNode);
  $("#rooms-saved").textContent = "";
  const name = $("#room-new").value.trim();
  if (!name) { fieldError("room-new", t("required"), { focus: true }); return; }
  try {
    await api("/v1/rooms", { method: "POST", body: JSON.stringify({ name }) });
  } catch (error) {
    if (!inBanner(error)) fieldError("room-new", inLang(error.message.replace(/^[a-z_]+: /, "")), { focus: true });
    return;
  }
  $("#room-new").value = "";
  $("#rooms-saved").textContent = t("room_added");
  await loadRooms();
  $("#room-new").focus();
}

async function load() {
  practice = await (await api("/v1/practice")).json();
  showPractice();
  showUserForm();
  showRoomForm();
  await Promise.all([loadUsers(), loadRooms()]);
}

$("#practice-form").addEventListener("submit", savePractice);
$("#user-add").addEventListener("submit", addUser);
$("#room-add").addEventListener("submit", addRoom);
["#practice-form", "#user-add", "#room-list", "#room-add"].forEach((form) => clearErrorsOnInput($(form)));
load().catch((error) => { if (!inBanner(error) && error.status !== 401) showProblem(inLang(error.message)); });
