"use strict";
(async function () {
  const status = document.getElementById("status");
  const list = document.getElementById("shows");
  try {
    const r = await fetch("/v1/shows");
    if (!r.ok) throw new Error("HTTP " + r.status);
    const body = await r.json();
    const shows = body.shows || [];
    status.textContent = shows.length ? "" : "No shows yet.";
    for (const s of shows) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = "/shows/" + encodeURIComponent(s.id);
      a.textContent = s.name || s.id;
      const small = document.createElement("small");
      small.textContent = s.id;
      a.appendChild(small);
      li.appendChild(a);
      list.appendChild(li);
    }
  } catch (e) {
    status.textContent = "Could not load the shows: " + e.message;
  }
})();
