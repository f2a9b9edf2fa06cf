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
document.querySelectorAll(".server-name").forEach((node) => { node.textContent = location.hostname; });
