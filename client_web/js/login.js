"use strict";
// The login page. A store without a practice sends the visitor to the
// first-start page; an account with a temporary password goes to change it;
// a session that expired elsewhere is said so here.

translate();
if (new URLSearchParams(location.search).has("expired")) showProblem(t("session_expired"), "expired");

request("/v1/setup", {}, { token: null })
  .then((r) => r.json())
  .then((setup) => {
    if (setup.needed) location.replace("setup.html");
    // a server with its own certificate authority offers it to the PCs that have yet to trust it
    $("#certificate-link").classList.toggle("hidden", !setup.local_ca);
  })
  .catch((error) => console.info("setup state unknown:", error.message));

$("#login").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#error").textContent = "";
  let login;
  try {
    const response = await request("/v1/auth/login", {
      method: "POST", body: JSON.stringify({ email: $("#email").value, password: $("#password").value }),
    }, { token: null });
    login = await response.json();
  } catch (error) {
    // a lost connection or a busy server is in the banner already
    if (!inBanner(error)) $("#error").textContent = t("wrong_login");
    return;
  }
  auth.save(login);
  location.replace(login.user.must_change_password ? "compte.html?first=1" : home(login.user.role));
});
