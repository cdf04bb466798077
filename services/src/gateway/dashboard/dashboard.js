// Bulwark live dashboard: polls GET /status every second and draws what it answers.
// Vanilla JS, no framework, no network access beyond this origin (see the page's CSP). Every
// value from the server is put in the page as text (textContent), never as markup.
"use strict";

(() => {
  const POLL_MS = 1000;
  const TIMEOUT_MS = 3000;
  const HISTORY = 60; // polls kept per dependency for the sparkline
  const TRANSITIONS_SHOWN = 5;

  // The /status fields this page reads. Each is checked on every poll (a banner names the
  // missing ones) and by services/src/gateway/dashboard/tests.rs against a real RuntimeSnapshot.
  // "a[]" walks every element of array a; a path holds when some element has it, or when an
  // array on the way is empty or a value on the way is null. Fields read only when present
  // (a child's status.in_ms, supervisor, supervisor_error) are checked by the tests separately.
  const STATUS_FIELDS = [
    "dependencies",
    "dependencies[].name",
    "dependencies[].breaker.state",
    "dependencies[].breaker.calls",
    "dependencies[].breaker.failed",
    "dependencies[].breaker.slow",
    "dependencies[].breaker.failure_rate",
    "dependencies[].breaker.slow_call_rate",
    "dependencies[].breaker.not_permitted",
    "dependencies[].breaker.consecutive_opens",
    "dependencies[].bulkhead.critical.in_flight",
    "dependencies[].bulkhead.critical.queued",
    "dependencies[].bulkhead.critical.max_concurrent",
    "dependencies[].bulkhead.critical.max_queue",
    "dependencies[].bulkhead.critical.rejected_total",
    "dependencies[].bulkhead.non_critical.in_flight",
    "dependencies[].bulkhead.non_critical.queued",
    "dependencies[].bulkhead.non_critical.max_concurrent",
    "dependencies[].bulkhead.non_critical.max_queue",
    "dependencies[].bulkhead.non_critical.rejected_total",
    "dependencies[].actor_restarts",
    "dependencies[].actor_alive",
    "dependencies[].last_probe",
    "dependencies[].retry_budget.available",
    "dependencies[].retry_budget.exhausted_total",
    "dependencies[].recent_transitions[].from",
    "dependencies[].recent_transitions[].to",
    "dependencies[].recent_transitions[].reason",
    "dependencies[].recent_transitions[].at",
    "supervision",
    "supervision.name",
    "supervision.strategy",
    "supervision.intensity",
    "supervision.period_ms",
    "supervision.restarts_in_period",
    "supervision.children[].id",
    "supervision.children[].kind",
    "supervision.children[].restart",
    "supervision.children[].status.state",
    "supervision.children[].restarts",
    "supervision.children[].last_failure",
  ];

  // Circuit states: label, colour class (see dashboard.css) and what the state means for calls.
  const STATES = {
    closed: { label: "Closed", help: "Calls pass; failures are counted." },
    half_open: { label: "Half-open", help: "A few trial calls decide: close or open again." },
    open: { label: "Open", help: "Calls are refused until the reset timeout elapses." },
    forced_open: { label: "Forced open", help: "Refused by an operator until reset." },
    disabled: { label: "Disabled", help: "Every call passes; nothing is recorded." },
    metrics_only: { label: "Metrics only", help: "Every call passes; rates are recorded, never trip." },
  };
  const STATE_ORDER = ["open", "forced_open", "half_open", "closed", "metrics_only", "disabled"];

  const CHILD_STATES = {
    running: "Running",
    restarting: "Restarting",
    stopped: "Stopped",
  };

  const history = new Map(); // dependency name -> failure rates (percent or null), oldest first
  let lastSuccess = null;
  let failedPolls = 0;

  const $ = (id) => document.getElementById(id);

  // Builds an element: h("div", {class: "x", "data-y": 1}, child, "text", [more]).
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    append(el, children);
    return el;
  }

  function s(tag, attrs, ...children) {
    const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    setAttrs(el, attrs);
    append(el, children);
    return el;
  }

  function setAttrs(el, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      el.setAttribute(k, v === true ? "" : String(v));
    }
  }

  function append(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }

  // Whether `path` (see STATUS_FIELDS) holds in `value`.
  function holds(value, segments) {
    if (segments.length === 0) return true;
    if (value === null || value === undefined) return true;
    const [head, ...rest] = segments;
    const isArray = head.endsWith("[]");
    const key = isArray ? head.slice(0, -2) : head;
    if (typeof value !== "object" || !(key in value)) return false;
    const next = value[key];
    if (!isArray) return holds(next, rest);
    if (!Array.isArray(next)) return false;
    return next.length === 0 || next.some((item) => holds(item, rest));
  }

  function missingFields(status) {
    return STATUS_FIELDS.filter((path) => !holds(status, path.split(".")));
  }

  const pct = (v) => (v === null || v === undefined ? "–" : `${v.toFixed(v < 10 && v > 0 ? 1 : 0)} %`);
  const stateInfo = (state) => STATES[state] || { label: String(state), help: "" };
  const stateClass = (state) => `state-${String(state).replace(/[^a-z_]/g, "")}`;

  function timeOfDay(date) {
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  }

  function ago(date) {
    const secs = Math.max(0, Math.round((Date.now() - date.getTime()) / 1000));
    if (secs < 60) return `${secs} s ago`;
    if (secs < 3600) return `${Math.floor(secs / 60)} min ago`;
    return `${Math.floor(secs / 3600)} h ago`;
  }

  function failureRate(breaker) {
    if (typeof breaker.failure_rate === "number") return breaker.failure_rate;
    if (breaker.calls > 0) return (100 * breaker.failed) / breaker.calls;
    return null;
  }

  function remember(status) {
    const seen = new Set();
    for (const dep of status.dependencies || []) {
      seen.add(dep.name);
      const list = history.get(dep.name) || [];
      list.push(failureRate(dep.breaker));
      while (list.length > HISTORY) list.shift();
      history.set(dep.name, list);
    }
    for (const name of [...history.keys()]) if (!seen.has(name)) history.delete(name);
  }

  // --- cards -----------------------------------------------------------------------------

  function sparkline(values) {
    const W = 240, H = 44, PAD = 2;
    const n = HISTORY;
    const x = (i) => PAD + ((W - 2 * PAD) * (i + n - values.length)) / (n - 1);
    const y = (v) => H - PAD - ((H - 2 * PAD) * Math.min(100, Math.max(0, v))) / 100;
    const segments = [];
    let current = [];
    values.forEach((v, i) => {
      if (v === null) {
        if (current.length) segments.push(current);
        current = [];
      } else {
        current.push([x(i), y(v)]);
      }
    });
    if (current.length) segments.push(current);
    const last = [...values].reverse().find((v) => v !== null);
    const label = last === undefined
      ? "Failure rate: no calls yet"
      : `Failure rate over the last ${values.length} polls, now ${pct(last)}`;
    const svg = s("svg", { class: "spark", viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img", "aria-label": label },
      s("line", { class: "spark-grid", x1: 0, x2: W, y1: y(50), y2: y(50) }),
      s("line", { class: "spark-base", x1: 0, x2: W, y1: y(0), y2: y(0) }),
    );
    for (const seg of segments) {
      const pts = seg.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(" ");
      if (seg.length > 1) {
        const area = `${seg[0][0].toFixed(1)},${y(0)} ${pts} ${seg[seg.length - 1][0].toFixed(1)},${y(0)}`;
        svg.append(s("polygon", { class: "spark-area", points: area }));
        svg.append(s("polyline", { class: "spark-line", points: pts }));
      }
      const [lx, ly] = seg[seg.length - 1];
      svg.append(s("circle", { class: "spark-dot", cx: lx.toFixed(1), cy: ly.toFixed(1), r: 2.5 }));
    }
    return svg;
  }

  function gauge(label, cls) {
    const limit = cls.max_concurrent || 0;
    const used = cls.in_flight || 0;
    const ratio = limit > 0 ? Math.min(1, used / limit) : 0;
    const level = ratio >= 0.9 ? "high" : ratio >= 0.6 ? "mid" : "low";
    const fill = h("span", { class: `gauge-fill level-${level}` });
    fill.style.width = `${(ratio * 100).toFixed(1)}%`;
    return h("div", { class: "gauge-row" },
      h("span", { class: "gauge-label" }, label),
      h("span", {
        class: "gauge",
        role: "meter",
        "aria-label": `${label} bulkhead in flight`,
        "aria-valuemin": 0,
        "aria-valuemax": limit,
        "aria-valuenow": used,
      }, fill),
      h("span", { class: "gauge-text" }, h("strong", {}, `${used}/${limit}`), " in flight"),
      h("span", { class: "gauge-extra" },
        `queued ${cls.queued}/${cls.max_queue}`,
        cls.rejected_total > 0 ? h("span", { class: "warn" }, ` · ${cls.rejected_total} rejected`) : " · 0 rejected"),
    );
  }

  function stat(label, value, extraClass) {
    return h("div", { class: `stat ${extraClass || ""}` }, h("dt", {}, label), h("dd", {}, value));
  }

  // A label over its value, and an optional second line.
  function fact(label, value, detail) {
    return h("div", { class: "fact" }, h("dt", {}, label), h("dd", {}, value, detail ? h("br") : null, detail));
  }

  function badge(state) {
    return h("span", { class: `badge ${stateClass(state)}` },
      h("span", { class: "badge-dot", "aria-hidden": "true" }), stateInfo(state).label);
  }

  function transitionList(list) {
    if (!list || list.length === 0) {
      return h("p", { class: "muted small" }, "No transitions since start.");
    }
    const items = [...list].reverse().slice(0, TRANSITIONS_SHOWN).map((t) => {
      const at = new Date(t.at);
      const valid = !Number.isNaN(at.getTime());
      return h("li", { class: "transition" },
        h("time", { datetime: t.at, title: t.at }, valid ? timeOfDay(at) : t.at),
        h("span", { class: "transition-states" },
          h("span", { class: `chip ${stateClass(t.from)}` }, stateInfo(t.from).label),
          h("span", { class: "arrow", "aria-label": "to" }, "→"),
          h("span", { class: `chip ${stateClass(t.to)}` }, stateInfo(t.to).label)),
        h("span", { class: "reason" }, t.reason));
    });
    return h("ol", { class: "transitions" }, items);
  }

  function card(dep) {
    const b = dep.breaker;
    const state = b.state;
    const rate = failureRate(b);
    const titleId = `dep-${String(dep.name).replace(/[^A-Za-z0-9_-]/g, "_")}`;
    const actor = dep.actor_alive
      ? h("span", { class: "ok" }, "running")
      : h("span", { class: "bad" }, "restarting");
    const probe = dep.last_probe
      ? (dep.last_probe.healthy
        ? h("span", { class: "ok" }, "healthy")
        : h("span", { class: "bad", title: dep.last_probe.error || "" }, "failing"))
      : h("span", { class: "muted" }, "not run");
    return h("article", {
      class: `card ${stateClass(state)}`,
      "data-dependency": dep.name,
      "data-state": state,
      "aria-labelledby": titleId,
    },
      h("header", { class: "card-head" },
        h("h3", { id: titleId, class: "card-title" }, dep.name),
        badge(state)),
      h("p", { class: "state-help" }, stateInfo(state).help),
      h("dl", { class: "stats" },
        stat("Failures", pct(rate), rate !== null && rate >= 50 ? "bad" : ""),
        stat("Slow calls", pct(b.slow_call_rate)),
        stat("Failed/calls", `${b.failed}/${b.calls}`),
        stat("Refused", String(b.not_permitted), b.not_permitted > 0 ? "bad" : "")),
      h("div", { class: "section" },
        h("div", { class: "section-title" }, h("span", {}, "Failure rate"), h("span", { class: "muted" }, `last ${HISTORY} s`)),
        h("div", { class: "spark-box" },
          sparkline(history.get(dep.name) || []),
          h("span", { class: "spark-axis axis-top", "aria-hidden": "true" }, "100 %"),
          h("span", { class: "spark-axis axis-mid", "aria-hidden": "true" }, "50 %"))),
      h("div", { class: "section" },
        h("div", { class: "section-title" }, h("span", {}, "Bulkhead")),
        gauge("Critical", dep.bulkhead.critical),
        gauge("Non-critical", dep.bulkhead.non_critical)),
      h("dl", { class: "facts" },
        fact("Actor", actor, h("span", { class: "muted" }, `${dep.actor_restarts} restart${dep.actor_restarts === 1 ? "" : "s"}`)),
        fact("Retry budget", `${dep.retry_budget.available} left`,
          h("span", { class: dep.retry_budget.exhausted_total > 0 ? "warn" : "muted" }, `${dep.retry_budget.exhausted_total} refused`)),
        fact("Probe", probe),
        fact("Openings", `${b.consecutive_opens} in a row`)),
      h("div", { class: "section" },
        h("div", { class: "section-title" }, h("span", {}, "Recent transitions")),
        transitionList(dep.recent_transitions)),
    );
  }

  // --- supervision tree ------------------------------------------------------------------

  // "one_for_one · 0/10 restarts in 60 s" (an unbounded intensity shows as ∞).
  function supervisorFacts(sup) {
    const limit = sup.intensity >= 4294967295 ? "∞" : sup.intensity;
    return [
      h("span", { class: "tag" }, String(sup.strategy).replace(/_/g, "-")),
      h("span", { class: "muted small" },
        `${sup.restarts_in_period}/${limit} restarts in ${Math.round(sup.period_ms / 1000)} s`),
    ];
  }

  function supervisorLine(sup) {
    return h("div", { class: "node supervisor" },
      h("span", { class: "node-name" }, sup.name), supervisorFacts(sup));
  }

  function childItem(child) {
    const state = child.status && child.status.state;
    const label = CHILD_STATES[state] || String(state);
    const when = state === "restarting" && typeof child.status.in_ms === "number" ? ` in ${child.status.in_ms} ms` : "";
    const row = h("div", { class: "node child" },
      h("span", { class: `child-status child-${String(state).replace(/[^a-z_]/g, "")}` },
        h("span", { class: "badge-dot", "aria-hidden": "true" }), label + when),
      h("span", { class: "node-name" }, child.id),
      child.supervisor ? supervisorFacts(child.supervisor) : h("span", { class: "muted small" }, `${child.kind} · ${child.restart}`),
      child.restarts > 0 ? h("span", { class: "warn small" }, `${child.restarts} restarts`) : null);
    const li = h("li", { "data-child": child.id, "data-child-state": state }, row);
    if (child.last_failure) li.append(h("div", { class: "failure small" }, `last failure: ${child.last_failure}`));
    if (child.supervisor) li.append(treeList(child.supervisor));
    else if (child.supervisor_error) li.append(h("div", { class: "failure small" }, child.supervisor_error));
    return li;
  }

  function treeList(sup) {
    const children = sup.children || [];
    return h("ul", { class: "tree-children" },
      children.length === 0 ? h("li", { class: "muted small" }, "no children") : children.map(childItem));
  }

  function tree(sup) {
    if (!sup) return h("p", { class: "bad" }, "The root supervisor did not answer in time.");
    return h("div", { class: "tree-root" }, supervisorLine(sup), treeList(sup));
  }

  // --- page ------------------------------------------------------------------------------

  function summary(deps) {
    const counts = new Map();
    for (const d of deps) counts.set(d.breaker.state, (counts.get(d.breaker.state) || 0) + 1);
    const chips = STATE_ORDER.filter((st) => counts.has(st))
      .concat([...counts.keys()].filter((st) => !STATE_ORDER.includes(st)))
      .map((st) => h("span", { class: `summary-chip ${stateClass(st)}`, "data-summary-state": st },
        h("span", { class: "badge-dot", "aria-hidden": "true" }),
        h("strong", {}, String(counts.get(st))), ` ${stateInfo(st).label.toLowerCase()}`));
    const unhealthy = deps.filter((d) => !["closed", "disabled", "metrics_only"].includes(d.breaker.state)).length;
    const verdict = deps.length === 0
      ? h("span", { class: "verdict" }, "No dependencies registered")
      : unhealthy === 0
        ? h("span", { class: "verdict ok" }, "All circuits closed")
        : h("span", { class: "verdict bad" }, `${unhealthy} of ${deps.length} dependencies refusing calls`);
    return [verdict, h("span", { class: "muted" }, `${deps.length} dependenc${deps.length === 1 ? "y" : "ies"}`), chips];
  }

  function meta(status) {
    const items = [];
    for (const [k, v] of Object.entries(status)) {
      if (v === null || typeof v === "object") continue;
      items.push(h("div", {}, h("dt", {}, k.replace(/_/g, " ")), h("dd", {}, String(v))));
    }
    return items;
  }

  function legend() {
    return STATE_ORDER.map((st) => h("li", {}, badge(st), h("span", { class: "muted small" }, STATES[st].help)));
  }

  function render(status) {
    const deps = [...(status.dependencies || [])].sort((a, b) => {
      const rank = (d) => STATE_ORDER.indexOf(d.breaker.state);
      return rank(a) - rank(b) || String(a.name).localeCompare(String(b.name));
    });
    $("summary").replaceChildren(...summary(deps).flat());
    $("meta").replaceChildren(...meta(status));
    $("cards").replaceChildren(...(deps.length
      ? deps.map(card)
      : [h("p", { class: "empty" }, "No dependencies are registered.")]));
    $("tree").replaceChildren(tree(status.supervision));
    const missing = missingFields(status);
    const banner = $("banner");
    banner.hidden = missing.length === 0;
    banner.textContent = missing.length
      ? `/status no longer has fields this page reads (${missing.join(", ")}); some values may be blank. Reload after an upgrade.`
      : "";
  }

  function setConnection(kind, text) {
    const el = $("connection");
    el.dataset.connection = kind;
    $("connection-text").textContent = text;
    document.body.classList.toggle("stale", kind === "lost");
  }

  async function poll() {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    try {
      const res = await fetch("/status", { cache: "no-store", signal: controller.signal, headers: { Accept: "application/json" } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const status = await res.json();
      remember(status);
      render(status);
      lastSuccess = new Date();
      failedPolls = 0;
      setConnection("live", `Live · updated ${timeOfDay(lastSuccess)}`);
    } catch (err) {
      failedPolls += 1;
      const why = err && err.name === "AbortError" ? "no answer within 3 s" : (err && err.message) || "network error";
      const since = lastSuccess ? `last update ${timeOfDay(lastSuccess)} (${ago(lastSuccess)})` : "no update yet";
      setConnection("lost", `Connection lost (${why}) · ${since} · retrying`);
    } finally {
      clearTimeout(timer);
      setTimeout(poll, POLL_MS);
    }
  }

  $("legend").replaceChildren(...legend());
  poll();
})();
