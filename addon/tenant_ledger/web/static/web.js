// Small progressive enhancements; every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Chart range tabs swap the SVG in place instead of reloading the page.
  for (const card of document.querySelectorAll("[data-chart]")) {
    for (const tab of card.querySelectorAll("a[data-span]")) {
      tab.addEventListener("click", async (event) => {
        event.preventDefault();
        // The card's address may name its resource already (?resource=water).
        const address = new URL(card.dataset.chart, window.location.href);
        address.searchParams.set("span", tab.dataset.span);
        const reply = await fetch(address, { credentials: "same-origin" });
        if (!reply.ok) {
          window.location.href = tab.href;
          return;
        }
        card.querySelector(".chart-box").innerHTML = await reply.text();
        for (const other of card.querySelectorAll("a[data-span]")) {
          other.classList.toggle("active", other === tab);
          other.setAttribute("aria-selected", String(other === tab));
        }
      });
    }
  }
  // Ask before irreversible actions; block double submits.
  for (const form of document.querySelectorAll("form[method=post]")) {
    form.addEventListener("submit", (event) => {
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
        event.preventDefault();
        return;
      }
      if (form.dataset.sent) {
        event.preventDefault();
        return;
      }
      form.dataset.sent = "1";
    });
  }
  // A tariff's prices are per its resource's billing unit (kWh, m³): the labels follow.
  for (const select of document.querySelectorAll("select[data-units]")) {
    const units = JSON.parse(select.dataset.units);
    select.addEventListener("change", () => {
      for (const label of select.form.querySelectorAll("[data-unit]")) {
        label.textContent = units[select.value] ?? label.textContent;
      }
    });
  }
  // Parts of a form for one choice only (a new water meter's leak watch) hide for the others.
  for (const select of document.querySelectorAll("select[data-shows]")) {
    const show = () => {
      for (const part of select.form.querySelectorAll("[data-only-for]")) {
        part.hidden = part.dataset.onlyFor !== select.value;
      }
    };
    select.addEventListener("change", show);
    show();
  }
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
});
