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

  // Destructive actions ask first: <form data-confirm="...">, or the button pressed when a
  // form's buttons do different things (<button data-confirm="...">).
  document.querySelectorAll("form").forEach((form) => {
    form.addEventListener("submit", (event) => {
      // A box needed by one button only (a bulk rejection's reason) is checked before asking.
      const pressed = event.submitter ? event.submitter.value : "";
      const needed = Array.from(form.querySelectorAll("[data-required-for]")).filter(
        (box) => box.dataset.requiredFor === pressed,
      );
      if (needed.length) {
        needed.forEach((box) => { box.required = true; });
        const valid = form.reportValidity();
        needed.forEach((box) => { box.required = false; });
        if (!valid) {
          event.preventDefault();
          return;
        }
      }
      const asked = (event.submitter && event.submitter.dataset.confirm) || form.dataset.confirm;
      if (asked && !window.confirm(asked)) event.preventDefault();
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

  // <button data-copy="ID" data-copied="Copied"> copies the text of #ID (a key shown once);
  // where the clipboard is refused (no secure context), the text is selected to copy.
  document.querySelectorAll("[data-copy]").forEach((button) => {
    button.addEventListener("click", () => {
      const source = document.getElementById(button.dataset.copy);
      if (!source) return;
      const select = () => {
        const range = document.createRange();
        range.selectNodeContents(source);
        const chosen = window.getSelection();
        chosen.removeAllRanges();
        chosen.addRange(range);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(source.textContent.trim()).then(
          () => { button.textContent = button.dataset.copied || button.textContent; },
          select,
        );
      } else {
        select();
      }
    });
  });

  // <input type="checkbox" data-select-all="ids"> toggles every checkbox named "ids".
  document.querySelectorAll("[data-select-all]").forEach((master) => {
    master.addEventListener("change", () => {
      const name = master.dataset.selectAll;
      // The form's elements: those inside it and those naming it with form="...".
      Array.from(master.form.elements)
        .filter((box) => box.name === name && box.type === "checkbox")
        .forEach((box) => {
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

// Switching language reloads the page: what was typed into its forms goes along (kept in
// this tab's session storage for that one load), so a half-filled form is not lost.
// Passwords, files and hidden fields (the CSRF token) are never kept.
document.addEventListener("DOMContentLoaded", () => {
  const KEY = "carried-form";
  const kept = (field) => field.name && !["password", "file", "hidden", "submit", "button"].includes(field.type);
  const saved = sessionStorage.getItem(KEY);
  if (saved) {
    sessionStorage.removeItem(KEY);
    const { path, values } = JSON.parse(saved);
    if (path === location.pathname) {
      document.querySelectorAll("form").forEach((form, index) => {
        for (const field of form.elements) {
          const value = values[`${index}:${field.name}`];
          if (!kept(field) || value === undefined) continue;
          if (field.type === "checkbox" || field.type === "radio") field.checked = value.includes(field.value);
          else if (field.multiple) for (const option of field.options) option.selected = value.includes(option.value);
          else field.value = value[0];
        }
      });
    }
  }
  document.querySelectorAll(".lang a[hreflang]").forEach((link) => {
    link.addEventListener("click", () => {
      const values = {};
      document.querySelectorAll("form").forEach((form, index) => {
        for (const field of form.elements) {
          if (!kept(field)) continue;
          const key = `${index}:${field.name}`;
          values[key] = values[key] || [];
          if (field.type === "checkbox" || field.type === "radio") { if (field.checked) values[key].push(field.value); }
          else if (field.multiple) values[key].push(...[...field.selectedOptions].map((o) => o.value));
          else values[key].push(field.value);
        }
      });
      sessionStorage.setItem(KEY, JSON.stringify({ path: location.pathname, values }));
    });
  });
});
