// ocift ui: one page for the whole pipeline. No framework, no build step.
// Every dataset-provided string reaches the DOM as a text node (el() / textContent),
// never as HTML, so names, prompts and error texts cannot inject markup.
"use strict";

const TOKEN = document.querySelector('meta[name="ocift-token"]').content;
const STEPS = [["uploaded", "uploaded"], ["converted", "converted"], ["training", "training"],
  ["model", "model active"], ["endpoint", "endpoint active"]];
let pollTimer = null;
let pollSeconds = 2;
let overview = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  for (const child of children.flat()) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, options) {
  const init = Object.assign({headers: {}}, options || {});
  if (init.method === "POST") init.headers["X-Ocift-Token"] = TOKEN;
  const resp = await fetch(path, init);
  let body = {};
  try { body = await resp.json(); } catch (e) { body = {}; }
  if (!resp.ok) {
    const err = body.error || {};
    throw new Error(`${resp.status} ${err.code || ""}: ${err.message || resp.statusText}`);
  }
  return body;
}

function num(value, digits) {
  if (value === null || value === undefined) return "-";
  const n = Number(value);
  if (digits === undefined) digits = n !== 0 && Math.abs(n) < 0.1 ? 4 : 2;
  return n.toFixed(digits);
}

// Records are numbered from 1 everywhere (the report's record_index counts from 0).
function recordNumber(index) {
  return index === null || index === undefined ? "-" : String(index + 1);
}

function shortId(id) {
  return el("span", {class: "mono", title: id}, id.length > 28 ? "…" + id.slice(-24) : id);
}

function age(hours) {
  if (hours === null || hours === undefined) return "-";
  if (hours < 1) return `${Math.round(hours * 60)} min`;
  if (hours < 48) return `${hours.toFixed(1)} h`;
  return `${(hours / 24).toFixed(1)} d`;
}

function when(iso) {
  if (!iso) return "-";
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toLocaleString();
}

function datasetLink(name) {
  return el("a", {href: "#dataset=" + encodeURIComponent(name), class: "dataset-link"}, name);
}

function timeline(row) {
  const reached = STEPS.findIndex(([key]) => key === row.stage);
  const failed = row.failed_at ? STEPS.findIndex(([key]) => key === row.failed_at) : -1;
  const steps = STEPS.map(([key, label], i) => {
    let cls = "step";
    let text = label;
    if (failed === i) { cls += " failed"; text = label + " failed"; }
    else if (i < reached || (i === reached && (key === "endpoint" || failed > i))) cls += " done";
    else if (i === reached) cls += failed === -1 ? " now" : " done";
    if (key === "training" && row.state === "TRAINING" && row.percent !== null
        && row.percent !== undefined) text = `training ${Math.round(row.percent)}%`;
    return el("span", {class: cls, "data-step": key}, text);
  });
  return el("div", {},
    el("div", {class: "timeline"}, steps),
    el("div", {class: "state muted", "data-field": "state"}, row.state || row.arrival
      || (row.valid === false ? "INVALID" : row.valid ? "CONVERTED" : "UPLOADED")),
    (row.dead_letters || []).map((d) => el("div", {class: "reason", "data-field": "dead_letter"},
      `${d.function} of ${d.object || "?"} gave up after ${d.attempts} attempts: `
      + (d.last_error || "no error recorded"))),
    row.reason ? el("div", {class: "reason", "data-field": "reason"}, row.reason) : null,
    row.live_note ? el("div", {class: "muted", "data-field": "live_note"}, row.live_note) : null,
    row.base_model_warning ? el("div", {class: "warning", "data-field": "base_model_warning"},
      "warning: " + row.base_model_warning) : null);
}

function holds(resources, total) {
  const clusters = resources.filter((r) => r.unit_hours !== null && r.unit_hours !== undefined);
  if (!clusters.length) return "-";
  return el("div", {},
    clusters.map((r) => el("div", {class: "muted"},
      `${r.kind}: ${r.units} x ${r.shape} (${r.state})`
      + (r.datasets.length > 1 ? `, shared by ${r.datasets.length}` : ""))),
    el("div", {}, el("b", {}, total), " unit-hours"));
}

// -- datasets view -------------------------------------------------------------------------

function renderOverview(data) {
  overview = data;
  document.getElementById("target").textContent = data.target;
  const counters = document.getElementById("counters");
  // serving = an endpoint ACTIVE now (the overview corrects deleted ones from the cloud)
  const active = data.datasets.filter((d) => d.state === "ENDPOINT_ACTIVE"
    && d.endpoint_state === "ACTIVE").length;
  counters.replaceChildren(
    el("span", {}, el("b", {}, data.datasets.length), " datasets"),
    el("span", {}, el("b", {}, active), " serving"),
    el("span", {}, el("b", {}, data.unit_hours_text), " unit-hours held"),
    data.local ? el("span", {}, el("b", {id: "dead-count"}, data.dead_letters || 0),
      " dead-lettered deliveries") : null);
  const body = document.querySelector("#datasets tbody");
  body.replaceChildren(...data.datasets.map((row) => el("tr", {"data-dataset": row.dataset},
    el("td", {}, datasetLink(row.dataset),
      row.valid !== null && row.valid !== undefined ? el("div", {class: "muted"},
        `${row.written || 0} written, ${row.skipped || 0} skipped`) : null),
    el("td", {}, timeline(row)),
    el("td", {}, row.model_version ? `v${row.model_version} ${row.model_state || ""}` : "-"),
    el("td", {}, row.endpoint_state ? el("div", {}, el("div", {}, row.endpoint_state),
      el("div", {class: "mono muted"}, row.endpoint_id || "")) : "-"),
    el("td", {}, holds(row.resources, row.unit_hours_text)),
    el("td", {}, when(row.updated_at)))));
  document.getElementById("datasets-empty").hidden = data.datasets.length > 0;
  const res = document.querySelector("#resources tbody");
  res.replaceChildren(...data.resources.map((r) => el("tr", {},
    el("td", {}, r.kind), el("td", {}, r.name, el("div", {class: "mono muted"}, r.id)),
    el("td", {}, r.shape ? `${r.units} x ${r.shape}` : "-"), el("td", {}, r.state),
    el("td", {}, age(r.hours)), el("td", {}, r.unit_hours_text),
    el("td", {}, r.datasets.length ? r.datasets.map((d) => el("div", {}, datasetLink(d)))
      : el("span", {class: "muted"}, "idle")))));
  const history = data.history || [];
  document.getElementById("deleted-resources").hidden = !history.length;
  document.querySelector("#deleted-table tbody").replaceChildren(...history.map((r) =>
    el("tr", {}, el("td", {}, r.kind), el("td", {}, r.name, el("div", {class: "mono muted"}, r.id)),
      el("td", {}, r.shape ? `${r.units} × ${r.shape}` : "-"), el("td", {}, r.state),
      el("td", {}, r.unit_hours_text),
      el("td", {}, r.datasets.map((d) => el("div", {}, datasetLink(d)))))));
  const err = document.getElementById("resources-error");
  err.hidden = !data.resources_error;
  err.textContent = data.resources_error || "";
  const bad = document.getElementById("quarantine");
  bad.hidden = !(data.quarantined && data.quarantined.length);
  document.getElementById("quarantine-list").replaceChildren(
    ...(data.quarantined || []).map((q) => el("li", {class: "mono"}, q)));
  fillModels(data.datasets);
}

function fillModels(datasets) {
  const select = document.getElementById("ask-model");
  const current = select.value || wantedModel();
  const names = datasets.filter((d) => d.state === "ENDPOINT_ACTIVE"
    && d.endpoint_state === "ACTIVE").map((d) => d.dataset);
  if (current && !names.includes(current)) names.unshift(current);
  const same = names.length === select.options.length
    && names.every((n, i) => select.options[i].value === n);
  if (!same) {
    select.replaceChildren(...names.map((n) => el("option", {value: n}, n)));
  }
  if (current) select.value = current;
}

// -- one dataset -----------------------------------------------------------------------------

function kv(rows) {
  return el("table", {class: "kv"}, rows.filter((r) => r).map(([k, v]) =>
    el("tr", {}, el("td", {}, k), el("td", {}, v === null || v === undefined ? "-" : v))));
}

function issueTable(issues) {
  return el("table", {class: "grid", id: "skipped-examples"},
    el("thead", {}, el("tr", {}, ["reason", "what", "record", "line", "byte", "how to fix"]
      .map((h) => el("th", {}, h)))),
    el("tbody", {}, issues.map((i) => el("tr", {},
      el("td", {class: "mono"}, i.code), el("td", {}, i.message),
      el("td", {}, recordNumber(i.record_index)), el("td", {}, i.line ?? "-"),
      el("td", {}, i.byte_offset ?? "-"), el("td", {class: "muted"}, i.hint || "")))));
}

function reportCard(d) {
  const r = d.report;
  if (!r) {
    return el("div", {class: "card", id: "report"}, el("h3", {}, "Conversion report"),
      el("p", {class: d.report_error ? "error" : "muted"},
        d.report_error || "no report yet (conversion has not finished)"));
  }
  const reasons = Object.entries(r.skipped_by_reason || {});
  return el("div", {class: "card", id: "report"}, el("h3", {}, "Conversion report"),
    r.fatal ? el("div", {class: "error", id: "fatal"}, el("b", {}, "Cannot succeed: "),
      `${r.fatal.code}: ${r.fatal.message}`,
      r.fatal.line ? ` (record ${recordNumber(r.fatal.record_index)}, line ${r.fatal.line}, byte `
        + `${r.fatal.byte_offset ?? "-"})` : "", r.fatal.hint ? el("div", {}, r.fatal.hint) : null)
      : null,
    kv([["verdict", r.valid ? "valid" : "INVALID"], ["source", r.source],
      ["format", `${r.input_format || "-"} / ${r.record_schema || "-"}`],
      ["records read", r.records_read], ["written", r.records_written],
      ["held out for evaluation", r.eval_records ?? 0],
      ["skipped", r.records_skipped],
      ["prompt tokens (p50 / p95 / max)", `${r.prompt.est_tokens.p50} / `
        + `${r.prompt.est_tokens.p95} / ${r.prompt.est_tokens.max}`],
      ["completion tokens (p50 / p95 / max)", `${r.completion.est_tokens.p50} / `
        + `${r.completion.est_tokens.p95} / ${r.completion.est_tokens.max}`]]),
    reasons.length ? el("div", {id: "skip-reasons"}, el("h3", {}, "Skipped, by reason"),
      kv(reasons.map(([k, v]) => [k, v]))) : null,
    r.skipped_examples.length ? el("div", {}, el("h3", {}, "First bad records"),
      issueTable(r.skipped_examples)) : null,
    (r.notes || []).map((n) => el("p", {class: "muted"}, n)));
}

function metricsChart(models) {
  const points = models.filter((m) => m.metrics).slice().reverse();
  const keys = ["final_accuracy", "final_loss"].filter((k) =>
    points.some((m) => typeof m.metrics[k] === "number"));
  if (points.length < 2 || !keys.length) return null;
  const W = 420, H = 160, P = 28;
  const x = (i) => P + i * (W - 2 * P) / (points.length - 1);
  const values = points.flatMap((m) => keys.map((k) => m.metrics[k])).filter((v) => v !== undefined);
  const top = Math.max(1, ...values);
  const y = (v) => H - P - (v / top) * (H - 2 * P);
  const colors = {final_accuracy: "#1a7f37", final_loss: "#c62828"};
  return svg("svg", {class: "chart", width: W, height: H, viewBox: `0 0 ${W} ${H}`,
    role: "img", "aria-label": "metrics by model version"},
    svg("line", {x1: P, y1: H - P, x2: W - P, y2: H - P, stroke: "#bbb"}),
    points.map((m, i) => svg("text", {x: x(i) - 6, y: H - 10}, `v${m.version}`)),
    keys.map((k) => [
      svg("polyline", {fill: "none", stroke: colors[k], "stroke-width": 2,
        points: points.map((m, i) => `${x(i)},${y(m.metrics[k] || 0)}`).join(" ")}),
      svg("text", {x: W - P - 80, y: k === "final_loss" ? 14 : 26, fill: colors[k]}, k)]));
}

function trainingCard(d) {
  const st = d.status || {};
  const latest = d.models[0];
  const metrics = (latest && latest.metrics) || st.model_metrics || {};
  const shown = Object.entries(metrics).filter(([, v]) => typeof v === "number");
  return el("div", {class: "card", id: "training"}, el("h3", {}, "Training"),
    kv([["state", st.state], ["base model", st.base_model], ["method", st.training_method],
      st.state === "TRAINING" ? ["progress", el("div", {}, `${num(st.percent_complete, 0)}%`,
        el("div", {class: "bar"}, el("div", {style: null, "data-pct": st.percent_complete})))]
        : null,
      ...Object.entries((latest && latest.training) || {}).map(([k, v]) => [k, String(v)])]),
    shown.length ? el("div", {id: "metrics"}, el("h3", {}, "Metrics" + (latest ? ` (v${latest.version})` : "")),
      kv(shown.map(([k, v]) => [k, el("span", {}, el("b", {}, num(v, 3)),
        d.metric_notes[k] ? el("div", {class: "muted"}, d.metric_notes[k]) : null)]))) : null,
    metricsChart(d.models));
}

function metricList(metrics) {
  const found = Object.entries(metrics || {}).filter(([, v]) => typeof v === "number");
  if (!found.length) return "-";
  return el("div", {}, found.map(([k, v]) => el("div", {class: "nowrap"}, `${k} ${num(v, 3)}`)));
}

function versionsCard(d) {
  return el("div", {class: "card", id: "versions"}, el("h3", {}, "Model versions"),
    d.models.length ? el("table", {class: "grid"},
      el("thead", {}, el("tr", {}, ["version", "state", "created", "metrics", "id"]
        .map((h) => el("th", {}, h)))),
      el("tbody", {}, d.models.flatMap((m) => [el("tr", {},
        el("td", {class: "nowrap"}, `v${m.version || "?"}`),
        el("td", {class: "nowrap", "data-field": "version-state"}, m.state),
        el("td", {class: "nowrap"}, when(m.created)),
        el("td", {}, metricList(m.metrics)),
        el("td", {}, shortId(m.id))),
        // the model's lifecycle details get a row of their own: readable, not squeezed
        m.details ? el("tr", {class: "details"}, el("td", {colspan: "5",
          class: m.state === "FAILED" ? "reason" : "muted", "data-field": "version-details"},
          m.details)) : null])))
      : el("p", {class: "muted"}, "no model yet"));
}

// -- evaluation (issue 25): each version against its base on the held-out split -------------

function scoreCells(s) {
  return s ? [num(s.token_f1, 3), num(s.exact_match, 3), num(s.rouge_l, 3)].map((v) =>
    el("td", {}, v)) : [el("td", {colspan: 3, class: "muted"}, "no base")];
}

function evaluationChart(reports) {
  // Token F1 of the fine-tuned model and of its base, one point per evaluated version.
  const points = reports.filter((r) => r.fine_tuned_scores);
  if (!points.length) return null;
  const W = 420, H = 160, P = 28;
  const x = (i) => points.length === 1 ? W / 2 : P + i * (W - 2 * P) / (points.length - 1);
  const y = (v) => H - P - v * (H - 2 * P);
  const series = [["fine_tuned_scores", "#1a7f37", "fine-tuned"], ["base_scores", "#777", "base"]];
  return svg("svg", {class: "chart", id: "eval-chart", width: W, height: H,
    viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "token F1 by model version"},
    svg("line", {x1: P, y1: H - P, x2: W - P, y2: H - P, stroke: "#bbb"}),
    svg("text", {x: 2, y: y(1) + 4}, "1"), svg("text", {x: 2, y: y(0) + 4}, "0"),
    points.map((r, i) => svg("text", {x: x(i) - 6, y: H - 10}, `v${r.model_version}`)),
    series.map(([key, color, label], n) => {
      const have = points.map((r, i) => [i, r[key]]).filter(([, s]) => s);
      return [
        have.length > 1 ? svg("polyline", {fill: "none", stroke: color, "stroke-width": 2,
          points: have.map(([i, s]) => `${x(i)},${y(s.token_f1)}`).join(" ")}) : null,
        have.map(([i, s]) => svg("circle", {cx: x(i), cy: y(s.token_f1), r: 4, fill: color,
          "data-series": key, "data-version": points[i].model_version,
          "data-f1": s.token_f1.toFixed(3)})),
        svg("text", {x: W - P - 80, y: 14 + 12 * n, fill: color}, `${label} token F1`)];
    }).flat(2).filter((n) => n));
}

function evaluationCard(d) {
  const reports = d.evaluations || [];
  const title = el("h3", {}, "Evaluation against the base model");
  if (!reports.length) {
    return el("div", {class: "card", id: "evaluation"}, title, el("p", {class: "muted"},
      "not evaluated yet: each version is scored on the held-out split once its endpoint "
      + "is ACTIVE"));
  }
  const latest = reports[reports.length - 1];
  const examples = (latest.examples || []).filter((e) => e.done && e.fine_tuned_scores)
    .sort((a, b) => a.fine_tuned_scores.token_f1 - b.fine_tuned_scores.token_f1
      || a.index - b.index);
  const f1 = (s) => s ? num(s.token_f1, 2) : "-";
  return el("div", {class: "card wide", id: "evaluation"}, title,
    el("p", {class: "muted"}, "Token F1, exact match and ROUGE-L on examples held out of "
      + "training. " + (d.local ? "Local target: the base is a stand-in that knows nothing of "
      + "your data, so these figures show the pipeline working, not model quality." : "")),
    el("table", {class: "grid", id: "eval-versions"},
      el("thead", {}, el("tr", {}, ["version", "prompts", "fine-tuned F1", "EM", "ROUGE-L",
        "base F1", "EM", "ROUGE-L", "wins / ties / losses", "base"].map((h) => el("th", {}, h)))),
      el("tbody", {}, reports.slice().reverse().map((r) => el("tr",
        {"data-version": r.model_version},
        el("td", {}, `v${r.model_version}`, r.complete ? null : el("div", {class: "muted"},
          "in progress")),
        el("td", {}, (r.examples || []).filter((e) => e.done).length),
        scoreCells(r.fine_tuned_scores), scoreCells(r.base_scores),
        el("td", {}, r.base_scores ? `${r.wins} / ${r.ties} / ${r.losses}` : "-"),
        el("td", {class: "muted"}, r.base.kind === "none" ? r.base.reason || "none"
          : r.base.kind.replace("_", " ")))))),
    evaluationChart(reports),
    (latest.notes || []).map((n) => el("p", {class: "muted"}, n)),
    examples.length ? [el("h3", {}, `Examples of v${latest.model_version}, worst first`),
      el("table", {class: "grid", id: "eval-examples"},
        el("thead", {}, el("tr", {}, ["prompt", "reference", "fine-tuned answer", "F1",
          "base answer", "F1"].map((h) => el("th", {}, h)))),
        el("tbody", {}, examples.map((e) => el("tr", {"data-index": e.index},
          el("td", {}, e.prompt), el("td", {}, e.reference),
          el("td", {}, e.fine_tuned ?? "-"), el("td", {}, f1(e.fine_tuned_scores)),
          el("td", {}, e.base ?? "-"), el("td", {}, f1(e.base_scores))))))] : null);
}

function endpointCard(d) {
  const name = d.summary.dataset;
  return el("div", {class: "card", id: "endpoint"}, el("h3", {}, "Endpoint"),
    d.endpoints.length ? d.endpoints.map((e) => kv([["state", e.state],
      ["id", el("span", {class: "mono"}, e.id)], ["created", when(e.created)]]))
      : el("p", {class: "muted"}, d.summary.endpoint_state || "no endpoint yet"),
    d.summary.resources.filter((r) => r.unit_hours !== null).map((r) => el("p", {class: "muted"},
      `${r.kind} ${r.units} x ${r.shape}, ${age(r.hours)} old: ${r.unit_hours_text} unit-hours`)),
    d.summary.state === "ENDPOINT_ACTIVE"
      ? el("a", {href: "#ask=" + encodeURIComponent(name), id: "ask-this"}, "Ask it in the playground")
      : null);
}

function deadLetterCard(d) {
  if (!d.local) return null;
  const redrive = async (ids, button) => {
    button.disabled = true;
    try {
      const done = await api("/api/redrive", {method: "POST",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify({delivery_ids: ids})});
      setLive(`requeued ${done.requeued.length} deliveries`);
    } catch (e) { setLive(e.message, true); }
    refresh();
  };
  const rows = d.dead_letters;
  return el("div", {class: "card", id: "dead-letters"}, el("h3", {}, "Dead-lettered deliveries"),
    rows.length ? [el("table", {class: "grid"},
      el("thead", {}, el("tr", {}, ["function", "object", "attempts", "last error", "when", ""]
        .map((h) => el("th", {}, h)))),
      el("tbody", {}, rows.map((r) => el("tr", {"data-delivery": r.delivery_id},
        el("td", {}, r.function), el("td", {class: "mono"}, r.object || "-"),
        el("td", {}, r.attempts), el("td", {class: "reason"}, r.last_error || "-"),
        el("td", {}, when(r.finished_at)),
        el("td", {}, el("button", {class: "small", onclick: (ev) =>
          redrive([r.delivery_id], ev.target)}, "Redrive")))))),
    rows.length > 1 ? el("button", {onclick: (ev) => redrive(rows.map((r) => r.delivery_id),
      ev.target)}, "Redrive all") : null]
      : el("p", {class: "muted"}, "none: every delivery for this dataset succeeded or is queued"));
}

function historyCard(d) {
  const history = (d.status && d.status.history) || [];
  return el("div", {class: "card", id: "history"}, el("h3", {}, "History"),
    history.length ? kv(history.slice().reverse().map((h) => [when(h.time),
      el("span", {}, el("b", {}, h.state), h.detail ? " " + h.detail : "")]))
      : el("p", {class: "muted"}, "no status yet"));
}

// -- job spec and approval (issue 24) -----------------------------------------------------------

function specRows(spec) {
  const given = new Set(spec.from_dataset || []);
  return Object.entries(spec).filter(([k, v]) => k !== "from_dataset" && v !== null)
    .map(([k, v]) => [k.replaceAll("_", " ") + (given.has(k) ? " *" : ""), String(v)]);
}

function clusterText(c) {
  if (c.action === "reuse") return `reuse ${c.cluster_id} (${c.units} x ${c.shape})`;
  let text = `${c.action === "create" ? "create" : "create unless one is found"} ${c.units} x `
    + `${c.shape}, minimum commitment ${c.minimum_unit_hours} unit-hours`;
  if (c.minimum_cost !== null) text += ` = ${num(c.minimum_cost, 2)} at ${c.price_per_unit_hour}/unit-hour`;
  return text + (c.note ? ` (${c.note})` : "");
}

async function decide(dataset, decision, button) {
  const out = document.getElementById("decision-result");
  button.disabled = true;
  try {
    const done = await api("/api/decision", {method: "POST",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify({dataset, decision})});
    out.className = "";
    out.textContent = `${done.decision}d: the train stage takes it from here`;
    refresh();
  } catch (e) {
    out.className = "error";
    out.textContent = e.message;
    button.disabled = false;
  }
}

function jobCard(d) {
  const st = d.status || {};
  if (!st.spec && !st.plan) return null;
  const plan = st.plan;
  const waiting = st.state === "AWAITING_APPROVAL" && plan;
  return el("div", {class: "card", id: "job"}, el("h3", {}, "Job"),
    st.spec ? el("div", {id: "job-spec"}, kv(specRows(st.spec)),
      el("p", {class: "muted"}, "* set by the dataset (opc-meta-ocift-*); the rest is the "
        + "pipeline's configuration")) : null,
    plan ? el("div", {id: "plan"}, el("h3", {}, waiting ? "Plan (awaiting approval)" : "Plan"),
      kv([["examples", String(plan.examples)], ["method", plan.training_method],
        ["hyperparameters", Object.entries(plan.hyperparameters).filter(([, v]) => v !== null)
          .map(([k, v]) => `${k.replaceAll("_", " ")} ${v}`).join(", ")],
        ["fine-tuning cluster", clusterText(plan.finetuning_cluster)],
        ["hosting cluster", clusterText(plan.hosting_cluster)],
        ["unit-hours", `at least ${plan.unit_hours} committed`],
        ["cost", plan.cost !== null ? num(plan.cost, 2) + " at your OCIFT_UNIT_PRICES"
          : "set OCIFT_UNIT_PRICES to see money"]])) : null,
    waiting ? el("div", {class: "actions"},
      el("button", {id: "approve", onclick: (ev) => decide(d.summary.dataset, "approve",
        ev.target)}, "Approve"),
      el("button", {id: "reject", onclick: (ev) => decide(d.summary.dataset, "reject",
        ev.target)}, "Reject"),
      el("span", {id: "decision-result", role: "status"})) : null);
}

let specDefaults = [];

async function setupSpecFields() {
  try {
    specDefaults = (await api("/api/jobdefaults")).fields;
  } catch (e) {
    return;  // the form still uploads with the pipeline's configuration
  }
  const box = document.getElementById("spec-fields");
  box.replaceChildren(...specDefaults.map((f) => {
    const input = f.choices
      ? el("select", {id: "spec-" + f.field}, ...f.choices.map((c) =>
        el("option", {value: c, selected: c === f.default}, c)))
      : el("input", {type: "text", id: "spec-" + f.field, value: f.default,
        placeholder: f.default === "" ? "OCI's default" : null});
    return el("label", {title: f.help}, f.flag.slice(2), input);
  }));
}

function specParams(params) {
  for (const f of specDefaults) {
    const value = document.getElementById("spec-" + f.field).value.trim();
    if (value !== f.default) params.set("spec_" + f.field, value);
  }
}

function renderDataset(d) {
  const view = document.getElementById("view-dataset");
  view.replaceChildren(
    el("h2", {id: "dataset-title"}, d.summary.dataset),
    timeline(d.summary),
    el("div", {class: "cards"}, jobCard(d), reportCard(d), trainingCard(d), versionsCard(d),
      endpointCard(d), evaluationCard(d), deadLetterCard(d), historyCard(d)));
  for (const bar of view.querySelectorAll("[data-pct]")) {
    bar.style.width = `${Math.max(0, Math.min(100, Number(bar.dataset.pct) || 0))}%`;
  }
}

// -- playground --------------------------------------------------------------------------------

function wantedModel() {
  const params = new URLSearchParams(location.hash.slice(1));
  return params.get("ask") || "";
}

async function ask(event) {
  event.preventDefault();
  const body = {model: document.getElementById("ask-model").value,
    prompt: document.getElementById("ask-prompt").value};
  for (const key of ["max_tokens", "top_k"]) {
    const v = document.getElementById("ask-" + key).value;
    if (v !== "") body[key] = parseInt(v, 10);
  }
  for (const key of ["temperature", "top_p", "frequency_penalty", "presence_penalty"]) {
    const v = document.getElementById("ask-" + key).value;
    if (v !== "") body[key] = parseFloat(v);
  }
  const stops = document.getElementById("ask-stop_sequences").value.split("\n")
    .filter((s) => s.length);
  if (stops.length) body.stop_sequences = stops;
  const out = document.getElementById("ask-result");
  out.hidden = false;
  out.replaceChildren(el("p", {class: "muted"}, "asking…"));
  try {
    const result = await api("/api/ask", {method: "POST",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
    const a = result.answer;
    const m = result.match;
    out.replaceChildren(el("div", {class: "answer", id: "ask-answer"}, a.text),
      kv([["finish reason", a.finish_reason], ["usage", a.usage ? `prompt ${a.usage.prompt_tokens
        ?? "-"}, completion ${a.usage.completion_tokens ?? "-"}, total ${a.usage.total_tokens
        ?? "-"} tokens` : "-"],
        ["model", a.model ? `${a.model.name || ""} v${a.model.version || "?"}` : "-"],
        ["endpoint", el("span", {class: "mono"}, a.endpoint_id || "-")],
        m && m.training_prompt !== null ? ["closest training prompt", el("span", {id: "ask-match"},
          m.training_prompt, el("div", {class: "muted"}, `word overlap with your prompt: `
          + `${Math.round(m.overlap * 100)}% (local stand-in: it answers with that example's `
          + `completion)`))] : null,
        m && m.similarity !== null ? ["retrieval similarity", num(m.similarity, 3)] : null]));
  } catch (e) {
    out.replaceChildren(el("p", {class: "error", id: "ask-error"}, e.message));
  }
}

// -- upload ----------------------------------------------------------------------------------

async function upload(file) {
  const out = document.getElementById("upload-result");
  const params = new URLSearchParams({filename: file.name});
  const name = document.getElementById("upload-name").value.trim();
  if (name) params.set("name", name);
  if (document.getElementById("upload-training").checked) params.set("training", "1");
  specParams(params);
  out.className = "muted";
  out.textContent = `uploading ${file.name}…`;
  try {
    const done = await api("/api/upload?" + params, {method: "POST",
      headers: {"Content-Type": "application/octet-stream"}, body: file});
    out.className = "";
    out.textContent = `uploaded as ${done.object}`;
    refresh();
  } catch (e) {
    out.className = "error";
    out.textContent = e.message;
  }
}

function setupUpload() {
  const form = document.getElementById("upload");
  const input = document.getElementById("upload-file");
  input.addEventListener("change", () => { if (input.files.length) upload(input.files[0]); });
  form.addEventListener("submit", (e) => e.preventDefault());
  form.addEventListener("dragover", (e) => { e.preventDefault(); form.classList.add("over"); });
  form.addEventListener("dragleave", () => form.classList.remove("over"));
  form.addEventListener("drop", (e) => {
    e.preventDefault();
    form.classList.remove("over");
    if (e.dataTransfer.files.length) upload(e.dataTransfer.files[0]);
  });
}

// -- routing and live updates -----------------------------------------------------------------

function route() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.has("dataset")) return ["dataset", params.get("dataset")];
  if (location.hash.startsWith("#ask")) return ["ask", params.get("ask") || ""];
  return ["datasets", null];
}

function setLive(text, bad) {
  const live = document.getElementById("live");
  live.textContent = text;
  live.className = bad ? "error" : "muted";
}

async function refresh() {
  clearTimeout(pollTimer);
  const [view, arg] = route();
  try {
    if (view === "dataset") renderDataset(await api("/api/dataset?name=" + encodeURIComponent(arg)));
    else {
      const data = await api("/api/overview");
      pollSeconds = data.poll_seconds;
      renderOverview(data);
    }
    setLive("updated " + new Date().toLocaleTimeString());
  } catch (e) {
    setLive(e.message, true);
  }
  pollTimer = setTimeout(refresh, pollSeconds * 1000);
}

function show() {
  const [view, arg] = route();
  for (const name of ["datasets", "dataset", "ask"]) {
    document.getElementById("view-" + name).hidden = name !== view;
  }
  document.getElementById("nav-datasets").classList.toggle("active", view !== "ask");
  document.getElementById("nav-ask").classList.toggle("active", view === "ask");
  if (view === "ask" && arg) fillModels(overview ? overview.datasets : []);
  refresh();
}

document.getElementById("ask-form").addEventListener("submit", ask);
setupUpload();
setupSpecFields();
window.addEventListener("hashchange", show);
show();
