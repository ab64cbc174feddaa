// Page behaviour shared by every screen; no inline scripts (the CSP forbids them).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const toggle = document.querySelector(".nav-toggle");
  const nav = document.getElementById("mainnav");
  if (toggle && nav) {
    toggle.addEventListener("click", () => {
      const open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", String(open));
    });
  }

  // Destructive actions ask first: <form data-confirm="...">.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  document.querySelectorAll("select.auto-submit").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
});

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.addEventListener("click", () => window.print());
  });

  // <input type="checkbox" data-select-all="ids"> toggles every checkbox named "ids".
  document.querySelectorAll("[data-select-all]").forEach((master) => {
    master.addEventListener("change", () => {
      const name = master.dataset.selectAll;
      master.form.querySelectorAll(`input[name="${name}"]`).forEach((box) => {
        box.checked = master.checked;
      });
    });
  });
});

// Long form posts (imports) show a progress indicator and cannot be sent twice.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form[data-progress]").forEach((form) => {
    form.addEventListener("submit", () => {
      const progress = form.querySelector(".progress");
      if (progress) progress.hidden = false;
      form.querySelectorAll("button, input[type=submit]").forEach((b) => { b.disabled = true; });
    });
  });
});
