"use strict";
// One's account: one's profile (name, phone; a dentist's title and RPPS
// number, printed on their documents) and one's password. With ?first=1 (an
// account logged in with a temporary password: login.js sends it here, and
// api() does on a 403 password_change_required), only the password change,
// then a new login with the new password, then the home page.

Object.assign(STRINGS.fr, {
  profile: "Mon profil", change_password: "Changer le mot de passe", choose_password: "Choisir mon mot de passe",
  first_why: "Votre compte a été créé avec un mot de passe temporaire : choisissez le vôtre pour continuer. Personne d'autre ne le connaîtra.",
  current_password: "Mot de passe actuel", temporary_password: "Mot de passe temporaire (celui reçu)",
  new_password: "Nouveau mot de passe", new_password_again: "Nouveau mot de passe (confirmation)",
  password_changed: "Mot de passe changé.", practice_short: "Cabinet", nothing_changed: "Rien à enregistrer.",
});
Object.assign(STRINGS.en, {
  profile: "My profile", change_password: "Change the password", choose_password: "Choose my password",
  first_why: "Your account was created with a temporary password: choose your own to go on. Nobody else will know it.",
  current_password: "Current password", temporary_password: "Temporary password (the one you were given)",
  new_password: "New password", new_password_again: "New password (again)",
  password_changed: "Password changed.", practice_short: "Practice", nothing_changed: "Nothing to save.",
});

const first = new URLSearchParams(location.search).has("first");
header("account");
translate();
let me = null;

// -- the profile ----------------------------------------------------------------------

const PROFILE = ["name", "phone", "title", "rpps"];

function showProfile() {
  const fact = (term, text) => [el("dt", {}, term), el("dd", {}, text)];
  $("#facts").replaceChildren(...fact(t("email"), me.email), ...fact(t("role"), t(`role_${me.role}`)),
    ...fact(t("practice_short"), me.clinic.name));
  const dentist = me.role === "dentist";
  $("#profile-fields").replaceChildren(
    field("me-name", t("full_name"), { required: "", autocomplete: "name", value: me.name || "" }, { span: 2 }),
    field("me-phone", t("phone"), { type: "tel", autocomplete: "tel", value: me.phone || "" }, { span: 2 }),
    ...(dentist ? [
      field("me-title", t("title"), { value: me.title || "" }, { span: 2 }),
      field("me-rpps", t("rpps"), { inputmode: "numeric", maxlength: "14", autocomplete: "off", value: me.rpps || "" }, { span: 2, hint: t("rpps_hint") }),
    ] : []));
}

async function saveProfile(event) {
  event.preventDefault();
  const form = $("#profile");
  clearFieldErrors(form);
  $("#profile-saved").textContent = "";
  const fields = PROFILE.filter((k) => $(`#me-${k}`));
  const changes = Object.fromEntries(fields.map((k) => [k, $(`#me-${k}`).value.trim()]).filter(([k, v]) => v !== (me[k] || "")));
  if ("name" in changes && !changes.name) { fieldError("me-name", t("required"), { focus: true }); return; }
  if (changes.rpps && rppsProblem(changes.rpps)) { fieldError("me-rpps", rppsProblem(changes.rpps), { focus: true }); return; }
  if (changes.rpps) changes.rpps = changes.rpps.replace(/\s/g, "");
  if (!Object.keys(changes).length) { $("#profile-saved").textContent = t("nothing_changed"); return; }
  $("#profile-save").disabled = true;
  try {
    me = await (await api("/v1/me", { method: "PATCH", body: JSON.stringify(changes) })).json();
  } catch (error) {
    showApiError(error, "me-", $("#profile-alert"));
    return;
  } finally {
    $("#profile-save").disabled = false;
  }
  fields.forEach((k) => { $(`#me-${k}`).value = me[k] || ""; });  // as the server keeps them (a phone in international form)
  sessionStorage.setItem("chairside.user", JSON.stringify({ ...auth.user, name: me.name }));
  $("header.bar .who").textContent = me.name;
  $("#profile-saved").textContent = t("saved_ok");
}

// -- the password ---------------------------------------------------------------------

function showPasswordForm(forced) {
  $("#password-title").textContent = forced ? t("choose_password") : t("change_password");
  $("#password-save").textContent = forced ? t("choose_password") : t("change_password");
  $("#first-why").classList.toggle("hidden", !forced);
  $("#password-fields").replaceChildren(
    field("pw-current", forced ? t("temporary_password") : t("current_password"), { type: "password", required: "", autocomplete: "current-password" }, { span: 4 }),
    field("pw-new", t("new_password"), { type: "password", required: "", autocomplete: "new-password" }, { span: 2, hint: t("password_hint") }),
    field("pw-new2", t("new_password_again"), { type: "password", required: "", autocomplete: "new-password" }, { span: 2 }));
  $("#password-form").classList.remove("hidden");
}

async function changePassword(event) {
  event.preventDefault();
  const form = $("#password-form");
  clearFieldErrors(form);
  $("#password-saved").textContent = "";
  const current = $("#pw-current").value, fresh = $("#pw-new").value;
  const problems = [];
  if (!current) problems.push(["pw-current", t("required")]);
  if (!fresh) problems.push(["pw-new", t("required")]);
  else if (fresh.length < 12) problems.push(["pw-new", t("password_min")]);
  else if ($("#pw-new2").value !== fresh) problems.push(["pw-new2", t("passwords_differ")]);
  if (problems.length) { problems.forEach(([id, message], i) => fieldError(id, message, { focus: i === 0 })); return; }
  $("#password-save").disabled = true;
  try {
    await api("/v1/auth/password", { method: "POST", body: JSON.stringify({ current_password: current, new_password: fresh }) });
  } catch (error) {
    $("#password-save").disabled = false;
    if (error.code === "wrong_password") fieldError("pw-current", inLang(error.message), { focus: true });
    else if (error.status === 400) fieldError("pw-new", inLang(error.message.replace(/^[a-z_]+: /, "")), { focus: true });
    else if (!inBanner(error)) $("#password-alert").textContent = inLang(error.message);
    return;
  }
  // the change revoked every token issued before, this one too: log in again with the new password
  // (after a temporary password, a token without the flag; then the home page)
  let login;
  try {
    login = await (await request("/v1/auth/login", { method: "POST", body: JSON.stringify({ email: me.email, password: fresh }) }, { token: null })).json();
  } catch (error) {
    auth.clear();
    location.replace("index.html");
    return;
  }
  auth.save(login);
  if (me.must_change_password) {
    location.replace(home(login.user.role));
    return;
  }
  $("#password-save").disabled = false;
  form.reset();
  $("#password-saved").textContent = t("password_changed");
}

async function load() {
  me = await (await api("/v1/me")).json();
  const forced = first || me.must_change_password;
  if (forced && !me.must_change_password) { history.replaceState(null, "", "compte.html"); }  // changed already: the whole page
  if (forced && me.must_change_password) {
    document.body.classList.add("first-login");
    showPasswordForm(true);
    $("#pw-current").focus();
    return;
  }
  showProfile();
  $("#profile").classList.remove("hidden");
  showPasswordForm(false);
}

$("#profile").addEventListener("submit", saveProfile);
$("#password-form").addEventListener("submit", changePassword);
clearErrorsOnInput($("#profile"));
clearErrorsOnInput($("#password-form"));
load().catch((error) => { if (!inBanner(error) && error.status !== 401) showProblem(inLang(error.message)); });
