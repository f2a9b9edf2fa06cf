"use strict";
// The patient form, a dialog of the Dictée and Patients pages: register a patient or
// rectify one — their identity and what a prescriber checks (allergies,
// pregnancy, breastfeeding, anticoagulant and antiplatelet treatments,
// renal and hepatic failure). The server checks everything; a refusal names
// its field ("pregnancy_weeks: …", "allergies.2: …") and is shown next to it.
// patientForm.open(patient or null) resolves with the saved patient, or
// null when the form is closed without saving.

// The dialog's markup, built here for every page that uses the form (the
// same ids as before: tests and the pages' scripts rely on them).
function patientDialogMarkup() {
  const error = (name) => el("p", { class: "field-error", id: `pf-${name}-error` });
  const hint = (name, key) => el("p", { class: "hint", id: `pf-${name}-hint`, "data-t": key });
  const label = (name, key) => el("label", { for: `pf-${name}`, "data-t": key });
  const field = (name, key, control, ...after) => el("div", { class: "field" }, label(name, key), control, ...after, error(name));
  const described = (name, hinted = false) => (hinted ? `pf-${name}-hint pf-${name}-error` : `pf-${name}-error`);
  const options = (...pairs) => pairs.map(([value, key]) => el("option", { value, "data-t": key }));
  const failure = (name) => field(name, name, el("select", { id: `pf-${name}`, name, "aria-describedby": described(name) },
    ...options(["", "failure_none"], ["moderate", "failure_moderate"], ["severe", "failure_severe"])));
  const check = (name) => [
    el("label", { class: "check" }, el("input", { type: "checkbox", id: `pf-${name}`, name, "aria-describedby": described(name) }), " ",
      el("span", { "data-t": name })),
    error(name)];
  return el("dialog", { id: "patient-dialog", "aria-labelledby": "pf-title" },
    el("form", { id: "patient-form", novalidate: "" },
      el("h2", { id: "pf-title" }),
      el("fieldset", {},
        el("legend", { "data-t": "identity" }),
        el("div", { class: "form-grid" },
          field("last_name", "last_name", el("input", { id: "pf-last_name", name: "last_name", maxlength: "100", autocomplete: "off", "aria-describedby": described("last_name") })),
          field("first_name", "first_name", el("input", { id: "pf-first_name", name: "first_name", maxlength: "100", autocomplete: "off", "aria-describedby": described("first_name") })),
          field("sex", "sex", el("select", { id: "pf-sex", name: "sex", "aria-describedby": described("sex") },
            ...options(["", "not_given"], ["F", "sex_F"], ["M", "sex_M"], ["X", "sex_X"]))),
          field("birth_date", "birth_date", el("input", { id: "pf-birth_date", name: "birth_date", type: "date", "aria-describedby": described("birth_date") })),
          field("weight_kg", "weight_kg", el("input", { id: "pf-weight_kg", name: "weight_kg", type: "number", min: "0", max: "400", step: "0.1",
            inputmode: "decimal", "aria-describedby": described("weight_kg") })),
          field("code", "code", el("input", { id: "pf-code", name: "code", maxlength: "40", autocomplete: "off", "aria-describedby": described("code", true) }),
            hint("code", "code_hint")))),
      el("fieldset", {},
        el("legend", { "data-t": "safety" }),
        el("div", { class: "field" },
          label("allergy", "allergies"),
          el("ul", { class: "allergies", id: "pf-allergies", "aria-label": "Allergies" }),
          el("div", { class: "inline" },
            el("input", { id: "pf-allergy", list: "pf-allergy-suggestions", maxlength: "100", autocomplete: "off", "data-t-placeholder": "allergy_placeholder",
              "aria-describedby": "pf-allergy-hint pf-allergies-error" }),
            el("button", { type: "button", id: "pf-add-allergy", "data-t": "add" })),
          el("datalist", { id: "pf-allergy-suggestions" }),
          hint("allergy", "allergy_hint"),
          error("allergies")),
        el("div", { class: "form-grid" },
          field("pregnancy_weeks", "pregnancy_weeks", el("input", { id: "pf-pregnancy_weeks", name: "pregnancy_weeks", type: "number", min: "0", max: "45", step: "1",
            inputmode: "numeric", "aria-describedby": described("pregnancy_weeks", true) }), hint("pregnancy_weeks", "pregnancy_hint")),
          failure("renal_failure"),
          failure("hepatic_failure")),
        el("div", { class: "checks" }, ...check("breastfeeding"), ...check("anticoagulant"), ...check("antiplatelet"))),
      el("p", { class: "error", id: "pf-error", role: "alert" }),
      el("div", { class: "dialog-buttons" },
        el("button", { type: "button", id: "pf-cancel", "data-t": "cancel" }),
        el("button", { type: "submit", class: "primary", id: "pf-save", "data-t": "save" }))));
}

const patientForm = (() => {
  if (!$("#patient-dialog")) {
    document.body.append(patientDialogMarkup());
    translate($("#patient-dialog"));
  }
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
