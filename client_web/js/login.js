"use strict";

translate();
$("#login").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#error").textContent = "";
  const response = await fetch("/v1/auth/login", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: $("#email").value, password: $("#password").value }),
  });
  if (!response.ok) { $("#error").textContent = t("wrong_login"); return; }
  const login = await response.json();
  auth.save(login);
  location.replace(home(login.user.role));
});
