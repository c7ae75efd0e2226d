// The live dashboard page: plain DOM and uPlot, fed by Server-Sent Events from /api/stream.
// Everything shown comes from the run (service names come from logs), so text goes in with
// textContent, never as HTML.
(() => {
  const MAX_POINTS = 600;
  // The alert types come from the server: every point carries a count for each type the pipeline
  // knows (shared/alerts/types.ts), so the page keeps no list of its own to fall out of date.
  let alertTypes = [];
  const PALETTE = [
    "#4cc9f0",
    "#f72585",
    "#b8f35d",
    "#ffb703",
    "#9d7bff",
    "#fb8500",
    "#2ec4b6",
    "#e0e0e0",
    "#ff6b6b",
    "#06d6a0",
  ];
  /** Which alert types a per-service chart marks. */
  const MARKED = {
    cpu: ["high_cpu", "ml_anomaly"],
    memory: ["high_memory", "ml_anomaly"],
    latency: ["ml_anomaly"],
    errors: ["high_error_rate", "brute_force_ip", "brute_force_user"],
  };

  const points = [];
  const serviceColours = new Map();
  const charts = {};
  let summary = null;
  let selectedIncident = null;
  let selectedVersion = -1;

  // The token comes in the link printed at start (#token=...); it stays in this tab only.
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) {
    sessionStorage.setItem("dashboard-token", fromHash);
    history.replaceState(null, "", location.pathname);
  }
  const tokenInput = document.getElementById("token");
  tokenInput.value = sessionStorage.getItem("dashboard-token") ?? "";
  document.getElementById("token-label").hidden = tokenInput.value !== "";
  tokenInput.addEventListener("change", () => sessionStorage.setItem("dashboard-token", tokenInput.value));

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props ?? {})) {
      if (key === "className") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
    }
    return node;
  }

  function colourOf(service) {
    if (!serviceColours.has(service))
      serviceColours.set(service, PALETTE[serviceColours.size % PALETTE.length]);
    return serviceColours.get(service);
  }

  function time(ms) {
    if (ms === null || ms === undefined || !Number.isFinite(ms)) return "-";
    return new Date(ms).toISOString().slice(11, 19);
  }

  function fmt(n, digits = 0) {
    if (n === null || n === undefined) return "-";
    return Number(n).toLocaleString("en-US", { maximumFractionDigits: digits });
  }

  // ---- charts ----

  function width(id) {
    return Math.max(300, document.getElementById(id).clientWidth);
  }

  function markerPlugin(kind) {
    return {
      hooks: {
        draw: [
          (u) => {
            if (!summary) return;
            const ctx = u.ctx;
            const [min, max] = [u.scales.x.min, u.scales.x.max];
            ctx.save();
            ctx.setLineDash([4, 4]);
            ctx.lineWidth = 1.5 * devicePixelRatio;
            for (const incident of summary.incidents) {
              if (!MARKED[kind].includes(incident.type)) continue;
              const x = incident.startsAtMs / 1000;
              if (x < min || x > max) continue;
              const px = u.valToPos(x, "x", true);
              ctx.strokeStyle = colourOf(incident.service);
              ctx.beginPath();
              ctx.moveTo(px, u.bbox.top);
              ctx.lineTo(px, u.bbox.top + u.bbox.height);
              ctx.stroke();
            }
            ctx.restore();
          },
        ],
      },
    };
  }

  // uPlot keeps and amends the axis objects it is given: every chart and axis gets its own.
  const axisStyle = () => ({ stroke: "#8b97a3", grid: { stroke: "#2a3541" }, ticks: { stroke: "#2a3541" } });

  function makeChart(id, series, data, plugins = []) {
    const target = document.getElementById(id);
    target.replaceChildren();
    return new uPlot(
      {
        width: width(id),
        height: 200,
        series: [{}, ...series],
        axes: [axisStyle(), axisStyle()],
        scales: { x: { time: true } },
        plugins,
        legend: { live: false },
      },
      data,
      target,
    );
  }

  function xs() {
    return points.map((p) => p.atMs / 1000);
  }

  function services() {
    const names = new Set();
    for (const p of points) for (const name of Object.keys(p.services)) names.add(name);
    return [...names].sort();
  }

  function serviceData(names, field) {
    return [xs(), ...names.map((name) => points.map((p) => p.services[name]?.[field] ?? null))];
  }

  let chartServices = "";

  function drawCharts() {
    if (points.length === 0) return;
    const x = xs();
    const eventsData = [x, points.map((p) => p.eventsPerSecond)];
    if (!charts.events) alertTypes = Object.keys(points[0].alertsByType);
    const alertsData = [x, ...alertTypes.map((t) => points.map((p) => p.alertsByType[t] ?? 0))];
    if (!charts.events) {
      charts.events = makeChart(
        "chart-events",
        [{ label: "events/s", stroke: "#4cc9f0", width: 2 }],
        eventsData,
      );
      charts.alerts = makeChart(
        "chart-alerts",
        alertTypes.map((t, i) => ({
          label: t,
          stroke: PALETTE[i % PALETTE.length],
          width: 2,
          paths: uPlot.paths.stepped({ align: 1 }),
        })),
        alertsData,
      );
    } else {
      charts.events.setData(eventsData);
      charts.alerts.setData(alertsData);
    }

    const names = services();
    const key = names.join("\u0000");
    const perService = [
      ["cpu", "chart-cpu", "cpuPct"],
      ["memory", "chart-memory", "memoryPct"],
      ["latency", "chart-latency", "latencyP95Ms"],
      ["errors", "chart-errors", "errorRate"],
    ];
    for (const [kind, id, field] of perService) {
      const data = serviceData(names, field);
      if (key !== chartServices || !charts[kind]) {
        charts[kind]?.destroy();
        charts[kind] = makeChart(
          id,
          names.map((name) => ({ label: name, stroke: colourOf(name), width: 1.5, spanGaps: true })),
          data,
          [markerPlugin(kind)],
        );
      } else {
        charts[kind].setData(data);
      }
    }
    chartServices = key;
  }

  window.addEventListener("resize", () => {
    for (const [key, chart] of Object.entries(charts)) {
      const id = `chart-${key}`;
      if (document.getElementById(id)) chart.setSize({ width: width(id), height: 200 });
    }
  });

  // ---- tables ----

  function renderTotals() {
    const latest = summary.latestPoint;
    document.getElementById("t-now").textContent = time(summary.nowMs);
    document.getElementById("t-events").textContent = fmt(summary.events);
    document.getElementById("t-rate").textContent = latest ? fmt(latest.eventsPerSecond, 1) : "-";
    document.getElementById("t-firing").textContent = fmt(summary.firing.length);
    document.getElementById("t-notifications").textContent = fmt(summary.notifications);
    document.getElementById("t-actions").textContent = fmt(summary.actions);
    document.getElementById("t-rejected").textContent = fmt(summary.rejected);
  }

  function renderFiring() {
    const body = document.querySelector("#firing tbody");
    body.replaceChildren(
      ...summary.firing.map((alert) =>
        el(
          "tr",
          {
            dataset: { fingerprint: alert.fingerprint, incident: alert.incident },
            className: alert.silencedBy ? "silenced" : "",
          },
          el("td", null, alert.type),
          el("td", null, alert.service),
          el("td", null, alert.entity || "-"),
          el("td", { className: `sev-${alert.severity}` }, alert.severity),
          el("td", null, time(alert.startsAtMs)),
          el("td", null, alert.summary),
          el(
            "td",
            null,
            alert.silencedBy
              ? el("span", { className: "muted" }, `silenced (${alert.silencedBy})`)
              : el("button", { className: "silence", onclick: () => silence(alert) }, "Silence"),
          ),
        ),
      ),
    );
    document.getElementById("firing-empty").hidden = summary.firing.length > 0;
  }

  async function silence(alert) {
    const message = document.getElementById("silence-message");
    const token = tokenInput.value.trim();
    if (token === "") {
      document.getElementById("token-label").hidden = false;
      message.textContent = "enter the dashboard token printed at start";
      return;
    }
    const response = await fetch("/api/silences", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({
        matchers: { type: alert.type, service: alert.service, entity: alert.entity },
        durationMinutes: Number(document.getElementById("silence-duration").value),
        reason: document.getElementById("silence-reason").value,
      }),
    });
    const body = await response.json().catch(() => ({}));
    if (response.ok) {
      message.textContent = `silence ${body.id} until ${time(body.expiresAtMs)} (event time)`;
    } else {
      message.textContent = `not silenced: ${body.error ?? response.status}`;
      if (response.status === 401) document.getElementById("token-label").hidden = false;
    }
  }

  function renderIncidents() {
    const list = document.getElementById("incidents");
    const newest = [...summary.incidents].sort((a, b) => b.startsAtMs - a.startsAtMs).slice(0, 100);
    list.replaceChildren(
      ...newest.map((incident) =>
        el(
          "li",
          {
            dataset: { incident: incident.id },
            className: incident.id === selectedIncident ? "selected" : "",
            onclick: () => selectIncident(incident.id),
          },
          el("span", { className: `state-${incident.status}` }, incident.status === "firing" ? "● " : "✓ "),
          `${time(incident.startsAtMs)} ${incident.type ?? "?"} on ${incident.service ?? "?"}`,
          incident.entity ? ` (${incident.entity})` : "",
          el("span", { className: "muted" }, ` ${incident.steps} steps`),
        ),
      ),
    );
    if (selectedIncident !== null) {
      const header = summary.incidents.find((i) => i.id === selectedIncident);
      if (header && header.version !== selectedVersion) loadTimeline(selectedIncident);
    }
  }

  function selectIncident(id) {
    selectedIncident = id;
    selectedVersion = -1;
    for (const li of document.querySelectorAll("#incidents li")) {
      li.classList.toggle("selected", li.dataset.incident === id);
    }
    loadTimeline(id);
  }

  async function loadTimeline(id) {
    const response = await fetch(`/api/incidents/${encodeURIComponent(id)}`);
    if (!response.ok || id !== selectedIncident) return;
    const incident = await response.json();
    selectedVersion = incident.version;
    document.getElementById("timeline-title").textContent =
      `${incident.type ?? "?"} on ${incident.service ?? "?"}${incident.entity ? ` (${incident.entity})` : ""}, ${incident.status}`;
    document
      .getElementById("timeline")
      .replaceChildren(
        ...incident.timeline.map((entry) =>
          el(
            "li",
            { dataset: { kind: entry.kind } },
            el("span", { className: "when" }, time(entry.atMs)),
            el("span", { className: `kind${entry.outcome ? ` outcome-${entry.outcome}` : ""}` }, entry.kind),
            entry.text,
          ),
        ),
      );
  }

  function renderQuality() {
    const quality = summary.quality;
    const section = document.getElementById("quality");
    section.hidden = quality === null;
    if (quality === null) return;
    document.getElementById("q-precision").textContent = fmt(quality.precision, 3);
    document.getElementById("q-recall").textContent = fmt(quality.recall, 3);
    document.getElementById("q-fp").textContent = fmt(quality.falsePositives);
    document.getElementById("q-missed").textContent = fmt(quality.missed);
    document
      .querySelector("#scenarios tbody")
      .replaceChildren(
        ...quality.scenarios.map((s) =>
          el(
            "tr",
            { dataset: { scenario: s.type } },
            el("td", null, s.type),
            el("td", null, fmt(s.injected)),
            el("td", null, fmt(s.detected)),
            el("td", null, s.medianTimeToDetectS === null ? "-" : `${fmt(s.medianTimeToDetectS, 1)} s`),
          ),
        ),
      );
  }

  function renderNotifications() {
    const newest = [...summary.recentNotifications].reverse().slice(0, 20);
    document
      .querySelector("#notifications tbody")
      .replaceChildren(
        ...newest.map((n) =>
          el(
            "tr",
            null,
            el("td", null, time(n.atMs)),
            el("td", null, n.groupKey),
            el("td", null, n.reason),
            el("td", null, n.status),
            el("td", null, String(n.alerts.length)),
            el(
              "td",
              null,
              n.sinks.length === 0
                ? el("span", { className: "muted" }, "no sink")
                : n.sinks.map((s) => `${s.sink}: ${s.status}`).join(", "),
            ),
          ),
        ),
      );
  }

  function apply(message) {
    for (const point of message.points) {
      // A point for an interval already shown replaces it (the history's current hour grows).
      if (points.length > 0 && points[points.length - 1].atMs === point.atMs)
        points[points.length - 1] = point;
      else if (points.length === 0 || point.atMs > points[points.length - 1].atMs) points.push(point);
    }
    if (points.length > MAX_POINTS) points.splice(0, points.length - MAX_POINTS);
    summary = message.summary;
    renderTotals();
    renderFiring();
    renderIncidents();
    renderQuality();
    renderNotifications();
    drawCharts();
    const badge = document.getElementById("connection");
    if (summary.mode === "history") {
      // npm run dashboard: the recorded alert history, re-read every 2 s.
      badge.textContent = "history";
      badge.className = "badge live";
      document.querySelector("h1 .muted").textContent = "alert history";
    } else {
      badge.textContent = summary.finished ? "run ended" : "live";
      badge.className = `badge ${summary.finished ? "ended" : "live"}`;
    }
    window.dashboard.updates++;
  }

  window.dashboard = { charts, points, updates: 0 };

  const stream = new EventSource("/api/stream");
  stream.addEventListener("snapshot", (e) => {
    points.length = 0;
    apply(JSON.parse(e.data));
  });
  stream.addEventListener("update", (e) => apply(JSON.parse(e.data)));
  stream.addEventListener("error", () => {
    const badge = document.getElementById("connection");
    if (summary?.finished) {
      stream.close();
      return;
    }
    badge.textContent = "reconnecting";
    badge.className = "badge";
  });
})();
