"use strict";
// The patient form, a dialog of the Dictée page: register a patient or
// rectify one — their identity and what a prescriber checks (allergies,
// pregnancy, breastfeeding, anticoagulant and antiplatelet treatments,
// renal and hepatic failure). The server checks everything; a refusal names
// its field ("pregnancy_weeks: …", "allergies.2: …") and is shown next to it.
// patientForm.open(patient or null) resolves with the saved patient, or
// null when the form is closed without saving.

const patientForm = (() => {
  const FIELDS = ["last_name", "first_name", "sex", "birth_date", "weight_kg", "code", "allergies", "pregnancy_weeks",
    "breastfeeding", "anticoagulant", "antiplatelet", "renal_failure", "hepatic_failure"];
  const TEXTS = ["last_name", "first_name", "sex", "birth_date", "code", "renal_failure", "hepatic_failure"];
  const CHECKS = ["breastfeeding", "anticoagulant", "antiplatelet"];
  const MAX_ALLERGIES = 30;
  const dialog = $("#patient-dialog");
  const form = $("#patient-form");
  const input = (name) => $(`#pf-${name}`);
  const fold = (text) => text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/\s+/g, " ").trim();
  let current = null;  // the patient being rectified; null for a new one
  let initial = null;  // the form's values as opened, to send only what changed
  let allergies = [];
  let done = null;     // resolves open()
  let opener = null;   // where the focus goes back

  class FieldError extends Error {
    constructor(field, message) { super(message); this.field = field; }
  }

  // -- errors, next to their field ------------------------------------------------------

  function clearErrors() {
    form.querySelectorAll(".field-error").forEach((node) => { node.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
    form.querySelectorAll(".allergies li.invalid").forEach((node) => node.classList.remove("invalid"));
    $("#pf-error").textContent = "";
  }

  function showError(field, message, { index, focus = true } = {}) {
    const slot = $(`#pf-${field}-error`);
    if (!slot) { $("#pf-error").textContent = message; return; }
    const target = field === "allergies" ? input("allergy") : input(field);
    if (field === "allergies" && index !== undefined && allergies[index] !== undefined) {
      const item = $("#pf-allergies").children[index];
      if (item) item.classList.add("invalid");
      message = `« ${allergies[index]} » — ${message}`;
    }
    slot.textContent = message;
    target.setAttribute("aria-invalid", "true");
    if (focus) target.focus();
  }

  // The API speaks English; the refusals a form meets most, in French. Any other is shown as the API said it.
  const IN_FRENCH = [
    [/cannot be pregnant/, () => "Une grossesse ne peut pas être enregistrée pour le sexe « Homme » : videz ce champ ou corrigez le sexe."],
    [/has a patient with the code/, () => "Ce code est déjà celui d'un autre patient du cabinet."],
    [/less than or equal to ([\d.]+)/, (m) => `Au plus ${m[1]}.`],
    [/greater than or equal to ([\d.]+)/, (m) => `Au moins ${m[1]}.`],
    [/greater than ([\d.]+)/, (m) => `Doit être supérieur à ${m[1]}.`],
    [/at most (\d+) characters/, (m) => `${m[1]} caractères au plus.`],
    [/at most (\d+) items/, (m) => `${m[1]} au plus.`],
    [/valid integer/, () => "Un nombre entier est attendu."],
    [/valid date/, () => "Ce n'est pas une date valide."],
  ];

  function inFrench(message) {
    if (lang() !== "fr") return message;
    for (const [pattern, say] of IN_FRENCH) {
      const found = pattern.exec(message);
      if (found) return say(found);
    }
    return message;
  }

  // "pregnancy_weeks: a patient of sex M cannot be pregnant…", "allergies.2: String should have…"
  function showApiError(message) {
    const found = /^([a-z_]+)(?:\.(\d+))?: ([\s\S]*)$/.exec(message);
    if (found && FIELDS.includes(found[1])) showError(found[1], inFrench(found[3]), { index: found[2] === undefined ? undefined : Number(found[2]) });
    else $("#pf-error").textContent = message;
  }

  // -- allergies: a list, with the known classes suggested ---------------------------------

  function renderAllergies() {
    const items = allergies.map((allergy, i) => el("li", {}, el("span", {}, allergy),
      el("button", { type: "button", class: "remove", "aria-label": `${t("remove")} ${allergy}`, title: t("remove"), onclick: () => removeAllergy(i) }, "×")));
    $("#pf-allergies").replaceChildren(...(items.length ? items : [el("li", { class: "none muted" }, t("no_allergy"))]));
    $("#pf-add-allergy").disabled = allergies.length >= MAX_ALLERGIES;
  }

  function addAllergy() {
    const field = input("allergy");
    const text = field.value.trim();
    if (!text) return;
    $("#pf-allergies-error").textContent = "";
    field.removeAttribute("aria-invalid");
    if (allergies.length >= MAX_ALLERGIES) { showError("allergies", t("too_many_allergies")); return; }
    if (!allergies.some((a) => fold(a) === fold(text))) allergies.push(text);
    field.value = "";
    renderAllergies();
    field.focus();
  }

  function removeAllergy(index) {
    allergies.splice(index, 1);
    renderAllergies();
    input("allergy").focus();
  }

  async function loadSuggestions() {
    const classes = await (await api("/v1/allergy-classes")).json();
    $("#pf-allergy-suggestions").replaceChildren(...classes.map((c) => el("option", { value: lang() === "en" ? c.en : c.fr })));
  }

  // -- values ------------------------------------------------------------------------------

  function number(name) {
    const field = input(name);
    if (field.validity.badInput) throw new FieldError(name, t("bad_number"));
    return field.value === "" ? null : Number(field.value);
  }

  function values() {
    const out = {};
    for (const name of TEXTS) out[name] = input(name).value.trim() || null;
    out.last_name = out.last_name || "";
    out.first_name = out.first_name || "";
    out.code = out.code || "";
    out.weight_kg = number("weight_kg");
    out.pregnancy_weeks = number("pregnancy_weeks");
    for (const name of CHECKS) out[name] = input(name).checked;
    out.allergies = [...allergies];
    return out;
  }

  function fill(patient) {
    for (const name of TEXTS) input(name).value = patient[name] ?? "";
    input("weight_kg").value = patient.weight_kg == null ? "" : String(Math.round(patient.weight_kg * 10) / 10);
    input("pregnancy_weeks").value = patient.pregnancy_weeks ?? "";
    for (const name of CHECKS) input(name).checked = Boolean(patient[name]);
    allergies = [...(patient.allergies || [])];
    input("allergy").value = "";
    renderAllergies();
  }

  // -- open, save, close -------------------------------------------------------------------

  function open(patient = null) {
    current = patient;
    $("#pf-title").textContent = t(patient ? "patient_form_edit" : "patient_form_new");
    $("#pf-code-hint").classList.toggle("hidden", Boolean(patient));  // generated for a new patient only
    clearErrors();
    fill(patient || {});
    initial = patient ? values() : null;
    opener = document.activeElement;
    dialog.showModal();
    input("last_name").focus();
    return new Promise((resolve) => { done = resolve; });
  }

  function finish(saved) {
    const resolve = done;
    done = null;
    if (dialog.open) dialog.close();
    if (opener) opener.focus();
    if (resolve) resolve(saved);
  }

  async function save(event) {
    event.preventDefault();
    clearErrors();
    if (input("allergy").value.trim()) addAllergy();  // typed but not added: it is meant
    let v;
    try {
      v = values();
    } catch (error) {
      if (error instanceof FieldError) { showError(error.field, error.message); return; }
      throw error;
    }
    const required = ["last_name", "first_name", ...(current ? ["code"] : [])].filter((name) => !v[name]);
    if (required.length) {
      required.forEach((name, i) => showError(name, t("required"), { focus: i === 0 }));
      return;
    }
    $("#pf-save").disabled = true;
    try {
      let saved;
      if (current) {
        const changes = Object.fromEntries(FIELDS.filter((k) => JSON.stringify(v[k]) !== JSON.stringify(initial[k])).map((k) => [k, v[k]]));
        saved = Object.keys(changes).length
          ? await (await api(`/v1/patients/${current.id}`, { method: "PATCH", body: JSON.stringify(changes) })).json()
          : current;
      } else {
        saved = await (await api("/v1/patients", { method: "POST", body: JSON.stringify(v) })).json();
      }
      finish(saved);
    } catch (error) {
      showApiError(error.message);
    } finally {
      $("#pf-save").disabled = false;
    }
  }

  form.addEventListener("submit", save);
  $("#pf-cancel").addEventListener("click", () => finish(null));
  dialog.addEventListener("close", () => finish(null));  // Escape closes it too
  $("#pf-add-allergy").addEventListener("click", addAllergy);
  input("allergy").addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); addAllergy(); }
  });
  loadSuggestions().catch((error) => console.info("no allergy suggestions:", error.message));

  return { open };
})();
