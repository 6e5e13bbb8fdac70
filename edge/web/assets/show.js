"use strict";
// The live seat map of one show. Everything inserted into the DOM goes
// through textContent or setAttribute, never innerHTML.
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const show = decodeURIComponent(location.pathname.split("/")[2] || "");
  const api = "/v1/shows/" + encodeURIComponent(show);
  const tokens = document.body.dataset.auth === "token";
  const $ = (id) => document.getElementById(id);
  const svg = $("svg");
  const seatEls = new Map();   // seat id -> <rect>
  const gaEls = new Map();     // section id -> {bars, text, capacity}
  const selected = new Set();
  let doc = null;              // last show document
  let hold = null;             // the last hold this page made
  let pollTimer = null;

  if (tokens) { $("user-label").hidden = true; $("token-label").hidden = false; }
  $("user").value = localStorage.getItem("boxoffice.user") || "";
  $("token").value = sessionStorage.getItem("boxoffice.token") || "";

  function el(name, attrs, text) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function msg(text, err) { const m = $("msg"); m.textContent = text; m.className = err ? "msg err" : "msg"; }
  function setLive(text, cls) { const l = $("live"); l.textContent = text; l.className = "live " + cls; }

  async function getJSON(url) {
    const r = await fetch(url, { cache: "no-store" });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error((body.error && body.error.message) || "HTTP " + r.status);
    return body;
  }

  // build lays the map out: seated sections row by row (seat ids are
  // section-row-n), general-admission sections as bars.
  function build(d, seats) {
    const sections = new Map(); // section -> Map(row -> [[n, id]])
    for (const id of Object.keys(seats)) {
      const p = id.split("-");
      if (p.length !== 3) continue;
      if (!sections.has(p[0])) sections.set(p[0], new Map());
      const rows = sections.get(p[0]);
      if (!rows.has(p[1])) rows.set(p[1], []);
      rows.get(p[1]).push([Number(p[2]), id]);
    }
    const S = 18, R = 4, left = 40;
    let maxSeats = 10;
    for (const rows of sections.values()) for (const r of rows.values()) maxSeats = Math.max(maxSeats, r.length);
    const width = left + maxSeats * S + 20;
    svg.textContent = "";
    seatEls.clear(); gaEls.clear();
    let y = 10;
    svg.appendChild(el("rect", { class: "stage", x: left, y: y, width: maxSeats * S - 4, height: 24, rx: 4 }));
    svg.appendChild(el("text", { class: "stage-t", x: left + (maxSeats * S - 4) / 2, y: y + 16, "text-anchor": "middle" }, "STAGE"));
    y += 48;
    for (const sec of d.sections) {
      const rows = sections.get(sec.id);
      svg.appendChild(el("text", { class: "sec", x: 4, y: y }, sec.id + " · " + sec.tier));
      y += 10;
      if (rows) {
        for (const [row, list] of rows) {
          list.sort((a, b) => a[0] - b[0]);
          svg.appendChild(el("text", { x: left - 8, y: y + 12, "text-anchor": "end" }, row));
          const off = left + ((maxSeats - list.length) * S) / 2;
          list.forEach(([n, id], i) => {
            const r = el("rect", { class: "seat", x: off + i * S, y: y, width: S - R, height: S - R, rx: 3,
              "data-seat": id, "data-state": seats[id], tabindex: "0" });
            r.appendChild(el("title", {}, id));
            r.addEventListener("click", () => toggle(id));
            r.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(id); } });
            svg.appendChild(r);
            seatEls.set(id, r);
          });
          y += S;
        }
      } else {
        const w = maxSeats * S - 4;
        svg.appendChild(el("rect", { class: "bar-bg", x: left, y: y, width: w, height: 22, rx: 4 }));
        const bars = {};
        for (const st of ["sold", "reserved", "held", "available"]) {
          bars[st] = el("rect", { class: "bar " + st, x: left, y: y, width: 0, height: 22 });
          svg.appendChild(bars[st]);
        }
        const text = el("text", { x: left, y: y + 36, "data-ga": sec.id });
        svg.appendChild(text);
        gaEls.set(sec.id, { bars, text, x: left, w });
        y += 44;
      }
      y += 14;
    }
    svg.setAttribute("viewBox", "0 0 " + width + " " + y);
    // seats stay big enough to tap: a narrow screen scrolls the map sideways
    svg.style.minWidth = Math.round(width * 0.85) + "px";
  }

  function setSeat(id, state) {
    const r = seatEls.get(id);
    if (!r || r.getAttribute("data-state") === state) return;
    r.setAttribute("data-state", state);
    if (state !== "available" && selected.delete(id)) { r.classList.remove("selected"); updateSelection(); }
    if (state === "available") r.classList.remove("mine");
  }

  function setGA(sec) {
    const g = gaEls.get(sec.section || sec.id);
    if (!g) return;
    const cap = sec.capacity || (sec.available + sec.held + sec.reserved + sec.sold) || 1;
    let x = g.x;
    for (const st of ["sold", "reserved", "held", "available"]) {
      const w = (g.w * (sec[st] || 0)) / cap;
      g.bars[st].setAttribute("x", x); g.bars[st].setAttribute("width", w);
      x += w;
    }
    g.text.textContent = (sec.available || 0) + " available · " + (sec.held || 0) + " held · " +
      (sec.reserved || 0) + " reserved · " + (sec.sold || 0) + " sold";
  }

  function renderTotals(t) {
    const box = $("totals");
    box.textContent = "";
    for (const k of ["capacity", "available", "held", "reserved", "sold"]) {
      const d = document.createElement("div");
      const b = document.createElement("b");
      b.textContent = String(t[k] || 0);
      b.setAttribute("data-total", k);
      d.appendChild(b);
      d.appendChild(document.createTextNode(k));
      box.appendChild(d);
    }
  }

  function applyDoc(d) {
    doc = d;
    for (const s of d.sections) setGA(s);
    renderTotals(d.totals);
  }

  function toggle(id) {
    const r = seatEls.get(id);
    if (!r) return;
    if (selected.has(id)) { selected.delete(id); r.classList.remove("selected"); }
    else if (r.getAttribute("data-state") === "available") { selected.add(id); r.classList.add("selected"); }
    updateSelection();
  }

  function updateSelection() {
    $("selected").textContent = selected.size ? Array.from(selected).sort().join(", ") : "none";
    $("hold").disabled = selected.size === 0;
  }

  function authHeaders() {
    const h = { "Content-Type": "application/json" };
    if (tokens) h["Authorization"] = "Bearer " + $("token").value.trim();
    return h;
  }

  async function post(url, body, key) {
    const h = authHeaders();
    if (key) h["Idempotency-Key"] = key;
    const r = await fetch(url, { method: "POST", headers: h, body: JSON.stringify(body) });
    const out = await r.json().catch(() => ({}));
    if (!r.ok) {
      const e = out.error || {};
      let m = (e.message || "HTTP " + r.status);
      if (e.seats) m += ": " + e.seats.join(", ");
      throw new Error(m);
    }
    return out;
  }

  $("hold").addEventListener("click", async () => {
    const body = { seats: Array.from(selected).sort() };
    if (!tokens) {
      const user = $("user").value.trim();
      if (!user) { msg("Enter your name first.", true); $("user").focus(); return; }
      localStorage.setItem("boxoffice.user", user);
      body.user = user;
    } else {
      sessionStorage.setItem("boxoffice.token", $("token").value.trim());
    }
    $("hold").disabled = true;
    try {
      hold = await post(api + "/holds", body, "hold-" + crypto.randomUUID());
      for (const id of hold.seats || []) { setSeat(id, "held"); seatEls.get(id) && seatEls.get(id).classList.add("mine"); }
      selected.clear();
      for (const r of svg.querySelectorAll(".seat.selected")) r.classList.remove("selected");
      updateSelection();
      $("order").disabled = false;
      msg("Held " + (hold.seats || []).join(", ") + " until " + new Date(hold.expires_at).toLocaleTimeString() + ".");
    } catch (e) {
      msg("Hold failed: " + e.message, true);
      updateSelection();
    }
  });

  $("order").addEventListener("click", async () => {
    if (!hold) return;
    $("order").disabled = true;
    try {
      const o = await post("/v1/orders", { show: show, hold: hold.id }, "order-" + hold.id);
      msg("Order " + o.id + ": " + o.status + ", " + (o.seats || []).join(", ") + ".");
      hold = null;
    } catch (e) {
      msg("Order failed: " + e.message, true);
      $("order").disabled = false;
    }
  });

  // Live updates: the event stream, or polling every 500 ms without it.
  function startPolling() {
    if (pollTimer) return;
    setLive("polling", "poll");
    const tick = async () => {
      try {
        const [seats, d] = await Promise.all([getJSON(api + "/seats"), getJSON(api)]);
        for (const id in seats.seats) setSeat(id, seats.seats[id]);
        applyDoc(d);
      } catch (e) { /* keep polling */ }
      pollTimer = setTimeout(tick, 500);
    };
    pollTimer = setTimeout(tick, 500);
  }

  function startStream() {
    if (!window.EventSource) { startPolling(); return; }
    let opened = false;
    const es = new EventSource(api + "/events");
    es.addEventListener("open", () => { opened = true; setLive("live", "on"); });
    es.addEventListener("inventory", (ev) => {
      let d; try { d = JSON.parse(ev.data); } catch (e) { return; }
      for (const c of d.changes || []) setSeat(c.seat, c.state);
      for (const g of d.ga || []) setGA(g);
      if (d.sections && d.sections.length && doc) {
        const by = new Map(d.sections.map((s) => [s.id || s.section, s]));
        doc.sections = doc.sections.map((s) => Object.assign({}, s, by.get(s.id) || {}));
        const t = { capacity: 0, available: 0, held: 0, reserved: 0, sold: 0 };
        for (const s of doc.sections) for (const k in t) t[k] += s[k] || 0;
        renderTotals(t);
      }
    });
    es.addEventListener("snapshot", () => { refresh(); });
    es.addEventListener("error", () => {
      if (es.readyState === EventSource.CLOSED || !opened) { es.close(); startPolling(); }
      else setLive("reconnecting", "poll");
    });
  }

  async function refresh() {
    const [d, seats] = await Promise.all([getJSON(api), getJSON(api + "/seats")]);
    for (const id in seats.seats) setSeat(id, seats.seats[id]);
    applyDoc(d);
  }

  (async function init() {
    try {
      const [d, seats] = await Promise.all([getJSON(api), getJSON(api + "/seats")]);
      document.title = (d.name || d.id) + " — boxoffice";
      $("title").textContent = d.name || d.id;
      build(d, seats.seats || {});
      applyDoc(d);
      svg.setAttribute("data-ready", "1");
      startStream();
    } catch (e) {
      $("title").textContent = show;
      msg("Could not load the show: " + e.message, true);
    }
  })();
})();
