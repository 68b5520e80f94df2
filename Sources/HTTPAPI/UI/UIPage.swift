/// The web UI (`/ui/`): one page, its style and script inline, nothing
/// fetched from elsewhere; it reads the HTTP API with the token typed in
/// its header, and a blocking query on every check's state keeps it live.
enum UIPage {
    static let html: [UInt8] = Array(source.utf8)

    /// What the browser may do with it: scripts and styles only from the
    /// page, requests only to this agent, not framed by other sites.
    static let contentSecurityPolicy = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        + "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    private static let source = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fedagent</title>
<style>
:root { --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --muted: #57606a; --line: #d0d7de; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.4 system-ui, sans-serif; color: #1f2328; background: #f6f8fa; }
header { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; padding: 10px 14px; background: #24292f; color: #fff; }
header b { font-size: 17px; margin-right: auto; }
header select, header input { font: inherit; padding: 4px 6px; border-radius: 6px; border: 0; max-width: 46vw; }
nav { display: flex; gap: 4px; padding: 8px 14px 0; }
nav a { padding: 6px 12px; border-radius: 6px 6px 0 0; color: var(--muted); text-decoration: none; }
nav a.on { background: #fff; color: #1f2328; border: 1px solid var(--line); border-bottom: 0; }
main { background: #fff; border-top: 1px solid var(--line); padding: 12px 14px; min-height: 60vh; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 7px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: 13px; }
.s { display: inline-block; min-width: 64px; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; text-align: center; }
.passing, .alive { background: var(--ok); } .warning, .leaving { background: var(--warn); }
.critical, .failed, .left, .maintenance { background: var(--bad); }
.tag { display: inline-block; padding: 0 6px; margin: 1px; border: 1px solid var(--line); border-radius: 8px; font-size: 12px; color: var(--muted); }
pre { white-space: pre-wrap; margin: 4px 0 0; font-size: 12px; color: var(--muted); }
a { color: #0969da; }
#err { color: var(--bad); padding: 6px 14px; }
@media (max-width: 600px) { .wide { display: none; } td, th { padding: 6px 3px; } }
</style>
</head>
<body>
<header><b>fedagent</b>
<select id="dc" aria-label="datacenter"></select>
<input id="token" type="password" placeholder="ACL token" aria-label="ACL token">
</header>
<nav><a href="#/services" id="t-services">Services</a><a href="#/nodes" id="t-nodes">Nodes</a><a href="#/members" id="t-members">Members</a></nav>
<div id="err"></div>
<main id="view">Loading…</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const rank = {passing: 0, warning: 1, critical: 2, maintenance: 3};
const worst = (checks) => checks.reduce((w, c) => (rank[c.Status] ?? 2) > (rank[w] ?? 0) ? c.Status : w, "passing");
const badge = (s) => `<span class="s ${esc(s)}">${esc(s)}</span>`;
const statusWord = {1: "alive", 2: "leaving", 3: "left", 4: "failed"};
let dc = new URLSearchParams(location.search).get("dc") || "";
let generation = 0;
$("token").value = localStorage.getItem("fedagent-token") || "";
$("token").onchange = () => { localStorage.setItem("fedagent-token", $("token").value); refresh(); };

async function api(path, index) {
  const url = new URL(path, location.origin);
  if (dc) url.searchParams.set("dc", dc);
  if (index) { url.searchParams.set("index", index); url.searchParams.set("wait", "60s"); }
  const headers = $("token").value ? {"X-Consul-Token": $("token").value} : {};
  const r = await fetch(url, {headers});
  if (!r.ok) throw new Error(`${r.status} ${(await r.text()).trim()}`);
  return {body: await r.json(), index: r.headers.get("X-Consul-Index")};
}

async function loadDatacenters() {
  try {
    const {body} = await api("/v1/catalog/datacenters");
    if (!dc) dc = body[0] || "";
    $("dc").innerHTML = body.map((d) => `<option${d === dc ? " selected" : ""}>${esc(d)}</option>`).join("");
  } catch (e) { $("err").textContent = e.message; }
}
$("dc").onchange = () => {
  dc = $("dc").value;
  history.replaceState(null, "", `?dc=${encodeURIComponent(dc)}${location.hash}`);
  refresh();
};

async function services() {
  const {body: names} = await api("/v1/catalog/services");
  const rows = await Promise.all(Object.keys(names).sort().map(async (name) => {
    const {body: entries} = await api(`/v1/health/service/${encodeURIComponent(name)}`);
    const states = entries.map((e) => worst(e.Checks));
    const status = states.reduce((w, s) => (rank[s] > rank[w] ? s : w), "passing");
    const passing = states.filter((s) => s === "passing").length;
    return `<tr data-service="${esc(name)}"><td><a href="#/services/${encodeURIComponent(name)}">${esc(name)}</a></td>
      <td>${badge(entries.length ? status : "critical")}</td><td>${passing} / ${entries.length}</td>
      <td class="wide">${(names[name] || []).map((t) => `<span class="tag">${esc(t)}</span>`).join("")}</td></tr>`;
  }));
  return `<table><tr><th>Service</th><th>Health</th><th>Passing</th><th class="wide">Tags</th></tr>${rows.join("")}</table>`;
}

function checkList(checks) {
  return checks.map((c) => `<div>${badge(c.Status)} ${esc(c.Name)}${c.Output ? `<pre>${esc(c.Output)}</pre>` : ""}</div>`).join("");
}

async function service(name) {
  const {body: entries} = await api(`/v1/health/service/${encodeURIComponent(name)}`);
  const rows = entries.map((e) => `<tr data-instance="${esc(e.Service.ID)}"><td>${esc(e.Service.ID)}<br><small>${esc(e.Node.Node)}</small></td>
    <td>${badge(worst(e.Checks))}</td><td class="wide">${esc(e.Service.Address || e.Node.Address)}:${esc(e.Service.Port)}</td>
    <td>${checkList(e.Checks)}</td></tr>`);
  return `<p><a href="#/services">Services</a> › <b>${esc(name)}</b></p>
    <table><tr><th>Instance</th><th>Health</th><th class="wide">Address</th><th>Checks</th></tr>${rows.join("")}</table>`;
}

async function nodes() {
  const [{body: list}, {body: checks}] = await Promise.all([api("/v1/catalog/nodes"), api("/v1/health/state/any")]);
  const byNode = {};
  for (const c of checks) (byNode[c.Node] ||= []).push(c);
  const rows = list.map((n) => `<tr data-node="${esc(n.Node)}"><td>${esc(n.Node)}</td><td>${badge(worst(byNode[n.Node] || []))}</td>
    <td class="wide">${esc(n.Address)}</td><td>${checkList(byNode[n.Node] || [])}</td></tr>`);
  return `<table><tr><th>Node</th><th>Health</th><th class="wide">Address</th><th>Checks</th></tr>${rows.join("")}</table>`;
}

async function members() {
  const [{body: lan}, {body: wan}] = await Promise.all([api("/v1/agent/members"), api("/v1/agent/members?wan=1")]);
  const table = (title, list) => `<h3>${title}</h3><table><tr><th>Member</th><th>Status</th><th class="wide">Address</th><th class="wide">Datacenter</th></tr>
    ${list.map((m) => `<tr data-member="${esc(m.Name)}"><td>${esc(m.Name)}</td><td>${badge(statusWord[m.Status] || "none")}</td>
      <td class="wide">${esc(m.Addr)}:${esc(m.Port)}</td><td class="wide">${esc(m.Tags?.dc)}</td></tr>`).join("")}</table>`;
  return table("LAN", lan) + (wan.length ? table("WAN", wan) : "");
}

async function render() {
  const [, tab = "services", name] = location.hash.split("/");
  for (const t of ["services", "nodes", "members"]) $("t-" + t).className = t === tab ? "on" : "";
  const html = tab === "nodes" ? await nodes() : tab === "members" ? await members() : name ? await service(decodeURIComponent(name)) : await services();
  $("view").innerHTML = html;
  $("err").textContent = "";
}

async function refresh() {
  try { await render(); } catch (e) { $("err").textContent = e.message; }
}

// Live: a blocking query on every check's state wakes the page; members have no index, so they are polled.
async function watch(mine) {
  let index = null;
  while (mine === generation) {
    try {
      const r = await api("/v1/health/state/any", index);
      if (index && r.index !== index) await refresh();
      index = r.index;
    } catch (e) { $("err").textContent = e.message; await new Promise((ok) => setTimeout(ok, 2000)); }
  }
}
setInterval(() => { if ((location.hash || "").startsWith("#/members")) refresh(); }, 2000);
window.onhashchange = refresh;
(async () => { await loadDatacenters(); await refresh(); watch(++generation); $("dc").addEventListener("change", () => watch(++generation)); })();
</script>
</body>
</html>
"""#
}
