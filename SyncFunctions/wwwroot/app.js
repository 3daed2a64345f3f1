"use strict";
// The SyncFunctions dashboard: the tenant's latest sync (or the one a link names), its connections
// and history, and a live progress dialog for a sync it starts (SignalR first, the Server-Sent Events
// stream when SignalR cannot connect). Progress numbers are the server's, never worked out here: the
// card and the dialog render the newest snapshot either has received. No framework, no CDN: the
// SignalR client is the npm package copied at build time.
(() => {
  const STAGES = {
    initializing: "Initializing",
    detecting_changes: "Detecting changes",
    processing_files: "Processing files",
    updating_embeddings: "Updating embeddings",
    finalizing: "Finalizing",
  };
  const STALE_AFTER_SECONDS = 90;
  const CLOSE_AFTER_COMPLETE_MS = 3000;
  const HISTORY_PAGE = 10;
  const EVENTS = ["started", "progress", "complete", "error"];

  const STAGE_ORDER = Object.keys(STAGES);

  // tenant: the tenant shown; tokenTenant: the token's own (they differ only for an admin's view of
  // another tenant, which every request then names with ?tenant_id=). syncId: the sync a link named.
  const state = {
    token: null, tenant: null, tokenTenant: null, syncId: null, latest: null, pages: [null], page: 0,
    follow: null, closeTimer: null, progress: new Map(),
  };
  const $ = (id) => document.getElementById(id);

  // ---- talking to the API -------------------------------------------------------------------

  // Another tenant's data is asked for by name; the server decides whether this caller may see it.
  function scoped(path) {
    if (!state.tenant || state.tenant === state.tokenTenant) return path;
    return `${path}${path.includes("?") ? "&" : "?"}tenant_id=${encodeURIComponent(state.tenant)}`;
  }

  async function api(method, path, body) {
    path = scoped(path);
    const headers = { Authorization: `Bearer ${state.token}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = null; }
    return { status: response.status, body: json };
  }

  function problemText(result) {
    const b = result.body || {};
    const errors = b.errors ? Object.values(b.errors).flat().join(" ") : "";
    return [b.title, b.detail, errors].filter(Boolean).join(": ") || `The server answered ${result.status}.`;
  }

  // The tenant a token names (its tid claim): only to know whether a request must name its tenant.
  function tokenTenantOf(token) {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "="))).tid || null;
    } catch {
      return null;
    }
  }

  async function signIn(tenant) {
    // Development servers issue tokens to local callers; elsewhere the token comes in the URL
    // fragment (#access_token=…), as an identity provider's implicit redirect would put it.
    const fragment = new URLSearchParams(location.hash.slice(1));
    if (fragment.get("access_token")) {
      state.token = fragment.get("access_token");
      state.tokenTenant = tokenTenantOf(state.token);
      tenant = tenant || state.tokenTenant;
    } else {
      const response = await fetch("/api/dev/token", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ tenant_id: tenant, email: `${tenant}@dashboard.local` }),
      });
      if (!response.ok) {
        notify(response.status === 404
          ? "This server issues no development tokens: open the dashboard with #access_token=… from your identity provider."
          : `Could not sign in as '${tenant}' (${response.status}).`);
        return false;
      }
      state.token = (await response.json()).access_token;
      state.tokenTenant = tenant;
    }
    state.tenant = tenant;
    sessionStorage.setItem("syncfunctions.tenant", tenant);
    return true;
  }

  // ---- formatting ---------------------------------------------------------------------------

  const stageText = (stage) => STAGES[stage] || stage || "–";

  function duration(seconds) {
    if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
    seconds = Math.max(0, Math.round(seconds));
    if (seconds < 60) return `${seconds} s`;
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
    return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  }

  const secondsSince = (iso) => (iso ? (Date.now() - Date.parse(iso)) / 1000 : null);
  const remainingText = (seconds) => (seconds === null || seconds === undefined ? "–" : `about ${duration(seconds)}`);
  const filesText = (p) => `${p.processed_items + p.failed_items} of ${p.total_items} files`;

  function setBar(bar, percent, status) {
    const value = Math.max(0, Math.min(100, Math.round(percent || 0)));
    bar.setAttribute("aria-valuenow", String(value));
    bar.setAttribute("aria-valuetext", `${value}%`);
    bar.querySelector(".fill").style.width = `${value}%`;
    bar.classList.toggle("done", status === "completed" || status === "complete");
    bar.classList.toggle("failed", status === "failed" || status === "cancelled" || status === "error");
  }

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function notify(message) {
    const notice = $("notice");
    notice.textContent = message;
    notice.hidden = !message;
  }

  // ---- one truth for progress ---------------------------------------------------------------

  // A sync's progress as GET /api/sync-progress/{id} and every live event carry it; the card's
  // status answer is put in the same shape. Both views render the newest one received, so at any
  // moment they show the same numbers.
  const fromSync = (sync) => ({
    sync_id: sync.id,
    status: sync.status === "completed" ? "complete" : sync.status === "failed" || sync.status === "cancelled" ? "error" : sync.status,
    stage: sync.progress.stage,
    percent_complete: sync.progress.percentage,
    total_items: sync.progress.total_files,
    processed_items: sync.files_processed,
    failed_items: sync.files_failed,
    current_item: sync.progress.current_file,
    error_message: sync.error_message,
    estimated_seconds_remaining: sync.estimated_seconds_remaining,
  });

  const ended = (p) => p.status === "complete" || p.status === "error";

  // Ordered as the sync moves: the end last, then items done, then the stage. Answers cross in
  // flight (a poll sent before an event can arrive after it); the older one is not shown.
  function isOlder(a, b) {
    const rank = (p) => [ended(p) ? 1 : 0, p.processed_items + p.failed_items, STAGE_ORDER.indexOf(p.stage)];
    const [x, y] = [rank(a), rank(b)];
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] < y[i];
    return false;
  }

  // Keeps the newest snapshot of a sync and shows it wherever that sync is shown.
  function receive(snapshot) {
    const known = state.progress.get(snapshot.sync_id);
    const newest = known && isOlder(snapshot, known) ? known : snapshot;
    state.progress.set(snapshot.sync_id, newest);
    if (state.latest && state.latest.id === newest.sync_id) renderCardProgress(newest);
    if (state.follow && state.follow.syncId === newest.sync_id) updateModal(newest);
    return newest;
  }

  // ---- the latest sync (or the one a link names) --------------------------------------------

  function renderLatest(sync) {
    state.latest = sync;
    $("latest").dataset.syncId = sync ? sync.id : "";
    $("latest-title").textContent = state.syncId ? `Sync ${state.syncId}` : "Latest sync";
    $("show-latest").hidden = !state.syncId;
    $("latest-empty").hidden = !!sync;
    $("latest-body").hidden = !sync;
    if (!sync) return;
    const status = $("latest-status");
    status.textContent = sync.status;
    status.className = `badge ${sync.status}`;
    const error = $("latest-error");
    error.hidden = !sync.error_message;
    error.textContent = sync.error_message ? `${sync.failure_reason || "error"}: ${sync.error_message}` : "";
    const rows = $("latest-connectors");
    rows.replaceChildren();
    for (const c of sync.connectors) {
      const row = document.createElement("tr");
      cell(row, c.connector);
      cell(row, c.status === "running" ? `running · ${stageText(c.stage)}` : c.status);
      cell(row, `${c.percentage}%`);
      cell(row, `${c.processed_items + c.failed_items} of ${c.total_items}${c.failed_items ? ` (${c.failed_items} failed)` : ""}`);
      cell(row, c.error_message || "");
      rows.appendChild(row);
    }
    receive(fromSync(sync));
    renderClock();
  }

  function renderCardProgress(p) {
    const sync = state.latest;
    $("latest-stage").textContent = sync.status === "completed" ? "All stages done"
      : sync.status === "running" || sync.status === "queued" ? stageText(p.stage)
      : `Stopped while ${stageText(p.stage).toLowerCase()}`;
    setBar($("latest-bar"), p.percent_complete, sync.status);
    $("latest-percent").textContent = `${p.percent_complete}%`;
    $("latest-files").textContent = filesText(p);
    $("latest-failed").textContent = String(p.failed_items);
    $("latest-current").textContent = p.current_item || "–";
    $("latest-remaining").textContent = remainingText(p.estimated_seconds_remaining);
  }

  // Heartbeat age and elapsed time move every second without asking the server.
  function renderClock() {
    const sync = state.latest;
    if (!sync) return;
    const running = sync.status === "running" || sync.status === "queued";
    const heartbeat = $("latest-heartbeat");
    const age = running ? secondsSince(sync.heartbeat_at) : null;
    heartbeat.textContent = age === null ? "–" : `${duration(age)} ago`;
    heartbeat.classList.toggle("stale", age !== null && age > STALE_AFTER_SECONDS);
    heartbeat.title = age !== null && age > STALE_AFTER_SECONDS ? "No heartbeat for longer than the stale window: the sweep will fail this sync." : "";
    const end = sync.completed_at ? Date.parse(sync.completed_at) : Date.now();
    const elapsed = sync.started_at ? (end - Date.parse(sync.started_at)) / 1000 : null;
    $("latest-duration").textContent = `${duration(elapsed)} / ${duration(sync.expected_duration_seconds)}`;
  }

  async function refreshStatus() {
    if (!state.syncId) {
      const result = await api("GET", "/api/v1/sync/status");
      if (result.status === 200) renderLatest(result.body.latest_sync);
      else if (result.status === 403) notify(linkProblem(result));
      return;
    }
    const result = await api("GET", `/api/v1/sync/${encodeURIComponent(state.syncId)}`);
    if (result.status === 200) {
      renderLatest(result.body);
      return;
    }
    // The sync a link names, but not one this viewer may see: say so, and show nothing of it.
    renderLatest(null);
    $("latest-empty").textContent = "No sync to show.";
    notify(linkProblem(result));
  }

  function linkProblem(result) {
    const signedIn = state.tokenTenant ? ` (signed in to tenant ${state.tokenTenant})` : "";
    if (result.status === 403) return `You may not see the syncs of tenant ${state.tenant}${signedIn}: only its own users and administrators may.`;
    if (result.status === 404) return `Sync ${state.syncId} does not exist in tenant ${state.tenant}.`;
    if (result.status === 400) return `The link names no valid sync: ${problemText(result)}`;
    return problemText(result);
  }

  function showLatest() {
    state.syncId = null;
    const url = new URL(location.href);
    url.searchParams.delete("sync_id");
    history.replaceState(null, "", url);
    notify("");
    $("latest-empty").textContent = "No sync yet.";
    refreshStatus();
  }

  // ---- connections and history --------------------------------------------------------------

  async function refreshConnections() {
    const [connections, recent] = await Promise.all([api("GET", "/api/v1/connections"), api("GET", "/api/v1/sync/history?limit=50")]);
    if (connections.status !== 200) return;
    const rows = $("connections");
    rows.replaceChildren();
    const items = recent.status === 200 ? recent.body.items : [];
    $("connections-empty").hidden = connections.body.connections.length > 0;
    for (const c of connections.body.connections) {
      const row = document.createElement("tr");
      cell(row, c.connector);
      const last = items.find((s) => s.connector_names.includes(c.connector));
      cell(row, last ? `${last.status} · ${new Date(last.created_at).toLocaleString()}` : "never");
      const action = cell(row, "");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.textContent = `Sync ${c.connector}`;
      button.addEventListener("click", () => syncNow(c.connector));
      action.appendChild(button);
      rows.appendChild(row);
    }
  }

  async function refreshHistory() {
    const token = state.pages[state.page];
    const query = `limit=${HISTORY_PAGE}${token ? `&page_token=${encodeURIComponent(token)}` : ""}`;
    const result = await api("GET", `/api/v1/sync/history?${query}`);
    if (result.status !== 200) return;
    const rows = $("history");
    rows.replaceChildren();
    for (const s of result.body.items) {
      const row = document.createElement("tr");
      cell(row, new Date(s.created_at).toLocaleString());
      cell(row, s.connector_names.join(", "));
      cell(row, s.status);
      cell(row, `${s.files_processed}${s.files_failed ? ` (+${s.files_failed} failed)` : ""} of ${s.progress.total_files}`);
      cell(row, s.failure_reason || "");
      rows.appendChild(row);
    }
    state.pages[state.page + 1] = result.body.next_page_token;
    $("history-older").disabled = !result.body.next_page_token;
    $("history-newer").disabled = state.page === 0;
  }

  // ---- the live progress dialog -------------------------------------------------------------

  function openModal(title, message) {
    clearTimeout(state.closeTimer);
    $("modal-title").textContent = title;
    $("modal-message").textContent = message;
    $("modal-error").hidden = true;
    $("modal-backdrop").hidden = false;
    $("modal").focus();
  }

  function closeModal() {
    clearTimeout(state.closeTimer);
    stopFollowing();
    $("modal-backdrop").hidden = true;
    $("sync-now").focus();
  }

  // A snapshot in the shape of GET /api/sync-progress/{id}, as every live event carries it.
  function updateModal(snapshot) {
    $("modal").dataset.syncId = snapshot.sync_id || "";
    setBar($("modal-bar"), snapshot.percent_complete, snapshot.status);
    $("modal-stage").textContent = `${stageText(snapshot.stage)} · ${snapshot.percent_complete}%`;
    $("modal-files").textContent = filesText(snapshot);
    $("modal-processed").textContent = String(snapshot.processed_items);
    $("modal-failed").textContent = String(snapshot.failed_items);
    $("modal-remaining").textContent = remainingText(snapshot.estimated_seconds_remaining);
    $("modal-current").textContent = snapshot.current_item || "";
    if (snapshot.status !== "complete" && snapshot.status !== "error" && snapshot.status !== "queued") {
      $("modal-message").textContent = "Running.";
    }
    if (snapshot.status === "complete") {
      $("modal-message").textContent = "Completed.";
      stopFollowing();
      state.closeTimer = setTimeout(closeModal, CLOSE_AFTER_COMPLETE_MS);
      refreshAll();
    } else if (snapshot.status === "error") {
      $("modal-message").textContent = "The sync failed.";
      const error = $("modal-error");
      error.hidden = false;
      error.textContent = snapshot.error_message || "No reason given.";
      stopFollowing();
      refreshAll();
    }
  }

  function stopFollowing() {
    const follow = state.follow;
    state.follow = null;
    if (!follow) return;
    if (follow.connection) follow.connection.stop();
    if (follow.source) follow.source.close();
  }

  async function follow(syncId) {
    stopFollowing();
    const current = { syncId };
    state.follow = current;
    const known = state.progress.get(syncId);
    if (known) updateModal(known);
    // The hub puts a connection in its token's own tenant: an admin viewing another tenant follows the stream.
    if (state.tenant !== state.tokenTenant) {
      followStream(current);
      return;
    }
    try {
      const connection = new signalR.HubConnectionBuilder()
        .withUrl(`/api?sync_id=${encodeURIComponent(syncId)}`, { accessTokenFactory: () => state.token })
        .build();
      for (const name of EVENTS) connection.on(name, (snapshot) => { if (state.follow === current) receive(snapshot); });
      current.connection = connection;
      await connection.start();
      $("live").textContent = "Live: SignalR";
      // Events sent before the connection joined are read once from the API.
      const now = await api("GET", `/api/sync-progress/${syncId}`);
      if (now.status === 200 && state.follow === current) receive(now.body);
    } catch {
      if (state.follow !== current) return;
      current.connection = null;
      followStream(current);
    }
  }

  // The fallback: the Server-Sent Events stream replays the sync's events from the start.
  function followStream(current) {
    const source = new EventSource(scoped(`/api/sync-progress/${encodeURIComponent(current.syncId)}/stream?access_token=${encodeURIComponent(state.token)}`));
    current.source = source;
    $("live").textContent = "Live: event stream";
    for (const name of EVENTS) {
      source.addEventListener(name, (e) => { if (state.follow === current) receive(JSON.parse(e.data)); });
    }
  }

  // ---- actions ------------------------------------------------------------------------------

  async function syncNow(connector) {
    notify("");
    if (state.syncId) showLatest(); // the card follows the sync this starts, or the one running
    const result = connector
      ? await api("POST", `/api/integrations/${encodeURIComponent(connector)}/sync`)
      : await api("POST", "/api/v1/sync");
    if (result.status === 202) {
      openModal(connector ? `Syncing ${connector}` : "Syncing all connectors", "Started.");
      updateModal({ sync_id: result.body.sync_id, status: "queued", stage: "initializing", percent_complete: 0, total_items: 0, processed_items: 0, failed_items: 0, estimated_seconds_remaining: null });
      await follow(result.body.sync_id);
    } else if (result.status === 409) {
      const running = result.body.latest_sync;
      openModal("A sync is already running", result.body.message || "A sync is already running for this tenant.");
      receive(fromSync(running));
      await follow(running.id);
    } else {
      notify(problemText(result));
    }
    refreshStatus();
  }

  async function cleanup() {
    const button = $("cleanup");
    button.disabled = true;
    try {
      const result = await api("POST", "/api/v1/sync/cleanup");
      notify(result.status === 200
        ? `Cleaned up ${result.body.cleaned} stuck sync${result.body.cleaned === 1 ? "" : "s"}.`
        : problemText(result));
      await refreshAll();
    } finally {
      button.disabled = false;
    }
  }

  function refreshAll() {
    return Promise.all([refreshStatus(), refreshConnections(), refreshHistory()]);
  }

  async function start(tenant) {
    if (!(await signIn(tenant))) return;
    $("tenant").value = state.tenant;
    $("live").textContent = state.tenant === state.tokenTenant
      ? `Signed in to tenant ${state.tenant}`
      : `Signed in to tenant ${state.tokenTenant}, viewing tenant ${state.tenant}`;
    await refreshAll();
  }

  // ---- wiring -------------------------------------------------------------------------------

  $("sync-now").addEventListener("click", () => syncNow(null));
  $("show-latest").addEventListener("click", showLatest);
  $("cleanup").addEventListener("click", cleanup);
  $("modal-close").addEventListener("click", closeModal);
  $("modal-backdrop").addEventListener("keydown", (e) => { if (e.key === "Escape") closeModal(); });
  $("history-older").addEventListener("click", () => { state.page++; refreshHistory(); });
  $("history-newer").addEventListener("click", () => { state.page = Math.max(0, state.page - 1); refreshHistory(); });
  $("signin").addEventListener("submit", (e) => {
    e.preventDefault();
    state.pages = [null];
    state.page = 0;
    state.syncId = null;
    start($("tenant").value.trim());
  });
  setInterval(() => { if (state.token) refreshStatus(); }, 2000);
  setInterval(renderClock, 1000);

  // The e-mail's link names a tenant and a sync (?tenant_id=…&sync_id=…); ?tenant= names a tenant.
  const query = new URLSearchParams(location.search);
  state.syncId = query.get("sync_id") || null;
  const named = query.get("tenant_id") || query.get("tenant");
  const hasToken = new URLSearchParams(location.hash.slice(1)).has("access_token");
  start(named || (hasToken ? null : sessionStorage.getItem("syncfunctions.tenant") || "demo"));
})();
