// The search page of `leann serve`: talks to the JSON API of the same server, nothing else. Every text from the
// index is put into the page as text nodes (never as HTML), so a passage cannot inject markup or script.
"use strict";

const TOKEN_KEY = "leann-token";
const SNIPPET_CHARS = 360;

const form = document.getElementById("search-form");
const indexSelect = document.getElementById("index");
const modeSelect = document.getElementById("mode");
const queryInput = document.getElementById("q");
const pathInput = document.getElementById("path");
const statusLine = document.getElementById("status");
const results = document.getElementById("results");
const tokenForm = document.getElementById("token-form");
const tokenInput = document.getElementById("token");

let pendingRetry = null;  // what to run again once a token has been given
let searchSerial = 0;     // answers to superseded searches are dropped

function setStatus(text, isError = false) {
  statusLine.textContent = text;
  statusLine.classList.toggle("error", isError);
}

class Unauthorized extends Error {}

async function api(path, body) {
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers["Authorization"] = "Bearer " + token;
  const init = { headers };
  if (body !== undefined) {
    init.method = "POST";
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  let data = null;
  try { data = await response.json(); } catch (_) { /* not JSON: reported below */ }
  if (response.status === 401) throw new Unauthorized(data && data.error ? data.error.message : "token needed");
  if (!response.ok) {
    const message = data && data.error ? data.error.message : "HTTP " + response.status;
    throw new Error(message);
  }
  return data;
}

function askForToken(retry, message) {
  pendingRetry = retry;
  tokenForm.hidden = false;
  setStatus(message, true);
  tokenInput.focus();
}

tokenForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const token = tokenInput.value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  tokenInput.value = "";
  tokenForm.hidden = true;
  setStatus("");
  const retry = pendingRetry;
  pendingRetry = null;
  if (retry) retry();
});

async function loadIndexes(wanted) {
  let data;
  try {
    data = await api("/indexes");
  } catch (e) {
    if (e instanceof Unauthorized) return askForToken(() => start(), e.message);
    return setStatus("cannot list the indexes: " + e.message, true);
  }
  indexSelect.replaceChildren();
  const usable = data.indexes.filter((row) => !row.error);
  for (const row of usable) {
    const option = document.createElement("option");
    option.value = row.name;
    option.textContent = row.name + " (" + row.chunks + " chunks)";
    indexSelect.append(option);
  }
  if (usable.length === 0) {
    setStatus("no indexes yet: build one with `leann build NAME --docs PATH`");
    return false;
  }
  if (wanted && usable.some((row) => row.name === wanted)) indexSelect.value = wanted;
  return true;
}

// Query words, longest first so that a longer word wins over a word it contains.
function queryTerms(query) {
  const words = query.toLowerCase().match(/[\p{L}\p{N}_]{2,}/gu) || [];
  return [...new Set(words)].sort((a, b) => b.length - a.length);
}

function termPattern(terms) {
  if (terms.length === 0) return null;
  const escaped = terms.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(escaped.join("|"), "giu");
}

// A window of the passage around its first matching term, so that long chunks still show why they matched.
function snippetOf(text, pattern) {
  const flat = text.replace(/\s+/g, " ").trim();
  if (flat.length <= SNIPPET_CHARS) return flat;
  let start = 0;
  if (pattern) {
    pattern.lastIndex = 0;
    const first = pattern.exec(flat);
    if (first && first.index > SNIPPET_CHARS / 3) start = first.index - Math.floor(SNIPPET_CHARS / 3);
  }
  const piece = flat.slice(start, start + SNIPPET_CHARS);
  return (start > 0 ? "…" : "") + piece + (start + SNIPPET_CHARS < flat.length ? "…" : "");
}

// Appends `text` to `parent` as text nodes with <mark> around the terms: text stays text, whatever it holds.
function appendHighlighted(parent, text, pattern) {
  if (!pattern) {
    parent.append(text);
    return;
  }
  let last = 0;
  pattern.lastIndex = 0;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    if (m.index > last) parent.append(text.slice(last, m.index));
    const mark = document.createElement("mark");
    mark.textContent = m[0];
    parent.append(mark);
    last = m.index + m[0].length;
  }
  if (last < text.length) parent.append(text.slice(last));
}

function locationOf(hit) {
  if (hit.source) {
    if (hit.line !== undefined) return hit.source + ":" + hit.line;
    if (hit.page !== undefined) return hit.source + " p." + hit.page;
    return hit.source;
  }
  return hit.id;
}

function render(data) {
  results.replaceChildren();
  const pattern = termPattern(queryTerms(data.query));
  data.results.forEach((hit, i) => {
    const item = document.createElement("li");
    item.className = "hit";
    item.tabIndex = 0;
    const head = document.createElement("div");
    head.className = "hit-head";
    const rank = document.createElement("span");
    rank.className = "rank";
    rank.textContent = i + 1 + ".";
    const loc = document.createElement("span");
    loc.className = "loc";
    loc.textContent = locationOf(hit);
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = hit.score.toFixed(3);
    score.title = "similarity score";
    head.append(rank, loc, score);
    const snippet = document.createElement("p");
    snippet.className = "snippet";
    appendHighlighted(snippet, snippetOf(hit.text, pattern), pattern);
    item.append(head, snippet);
    results.append(item);
  });
  const n = data.results.length;
  setStatus(n === 0 ? "no results" : n + (n === 1 ? " result" : " results") + " in " +
            data.stats.seconds.toFixed(3) + " s");
}

// ?k=N in the URL asks for N results (default 10).
function resultCount() {
  const k = parseInt(new URLSearchParams(location.search).get("k"), 10);
  return k >= 1 && k <= 1000 ? k : 10;
}

// The optional path filter (a glob; the server answers a malformed one with a message naming it).
function pathGlob() {
  return pathInput.value.trim();
}

async function search(pushHistory) {
  const index = indexSelect.value;
  const query = queryInput.value.trim();
  if (!index || !query) return;
  if (pushHistory) {
    const url = new URL(location.href);
    url.searchParams.set("index", index);
    url.searchParams.set("q", query);
    url.searchParams.set("mode", modeSelect.value);
    if (pathGlob()) url.searchParams.set("path", pathGlob()); else url.searchParams.delete("path");
    if (url.href !== location.href) history.pushState(null, "", url);
  }
  const serial = ++searchSerial;
  setStatus("searching…");
  try {
    const body = { index, query, top_k: resultCount(), mode: modeSelect.value };
    if (pathGlob()) body.path = pathGlob();
    const data = await api("/search", body);
    if (serial === searchSerial) render(data);
  } catch (e) {
    if (serial !== searchSerial) return;
    if (e instanceof Unauthorized) return askForToken(() => search(false), e.message);
    results.replaceChildren();
    setStatus(e.message, true);
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  search(true);
});

indexSelect.addEventListener("change", () => {
  if (queryInput.value.trim()) search(true);
});

function hits() { return [...results.querySelectorAll(".hit")]; }

function moveSelection(step) {
  const all = hits();
  if (all.length === 0) return;
  const current = all.indexOf(document.activeElement);
  const next = current < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, current + step));
  all[next].focus();
  all[next].scrollIntoView({ block: "nearest" });
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const typing = event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement;
  if (event.key === "/" && !typing) {
    event.preventDefault();
    queryInput.focus();
    queryInput.select();
  } else if (event.key === "Escape") {
    queryInput.focus();
  } else if (event.key === "ArrowDown" && (event.target === queryInput || !typing)) {
    event.preventDefault();
    moveSelection(1);
  } else if (event.key === "ArrowUp" && !typing) {
    event.preventDefault();
    if (hits().indexOf(document.activeElement) === 0) queryInput.focus();
    else moveSelection(-1);
  } else if ((event.key === "j" || event.key === "k") && !typing) {
    event.preventDefault();
    moveSelection(event.key === "j" ? 1 : -1);
  } else if (event.key === "Enter" && document.activeElement.classList.contains("hit")) {
    const loc = document.activeElement.querySelector(".loc").textContent;
    if (navigator.clipboard) navigator.clipboard.writeText(loc).then(() => setStatus("copied " + loc), () => {});
  }
});

// The URL holds the state (?index=..&q=..): opening a link, reloading or going back repeats that search.
async function fromUrl() {
  const params = new URLSearchParams(location.search);
  const wanted = params.get("index");
  queryInput.value = params.get("q") || "";
  if (["vector", "keyword", "hybrid"].includes(params.get("mode"))) modeSelect.value = params.get("mode");
  pathInput.value = params.get("path") || "";
  if (wanted) {
    if (![...indexSelect.options].some((o) => o.value === wanted)) {
      results.replaceChildren();
      return setStatus("no index named '" + wanted + "' on this server", true);
    }
    indexSelect.value = wanted;
  }
  if (queryInput.value.trim()) await search(false);
  else {
    results.replaceChildren();
    setStatus("");
  }
}

async function start() {
  const params = new URLSearchParams(location.search);
  if (params.has("index") && params.get("index") && params.has("q")) {
    // Known before the list arrives: show the query at once.
    queryInput.value = params.get("q");
  }
  if (await loadIndexes(params.get("index"))) await fromUrl();
}

window.addEventListener("popstate", fromUrl);
start();
