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
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
});
