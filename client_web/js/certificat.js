"use strict";
// How to trust the practice's local certificate authority: the page in the
// user's language, with the address to open once it is trusted.

const shown = lang() === "en" ? "en" : "fr";
document.documentElement.lang = shown;
$("#help-fr").classList.toggle("hidden", shown !== "fr");
$("#help-en").classList.toggle("hidden", shown !== "en");
const address = `https://${location.hostname}${location.protocol === "https:" && location.port ? ":" + location.port : ""}/`;
$("#address-fr").textContent = address;
$("#address-en").textContent = address;
// the plain-HTTP address of the CA, when the server has one (its http_redirect_port)
request("/v1/setup", {}, { token: null })
  .then((r) => r.json())
  .then((setup) => {
    if (!setup.ca_http_port) return;
    // (an IPv6 hostname comes with its brackets)
    document.querySelectorAll(".ca-http-url").forEach((node) => { node.textContent = `http://${location.hostname}:${setup.ca_http_port}/ca.pem`; });
    document.querySelectorAll(".ca-over-http").forEach((node) => node.classList.remove("hidden"));
  })
  .catch((error) => console.info("setup state unknown:", error.message));
