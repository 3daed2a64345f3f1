"use strict";
// The SyncFunctions dashboard: the tenant's latest sync, its connections and history, and a live
// progress dialog for a sync it starts (SignalR first, the Server-Sent Events stream when SignalR
// cannot connect). No framework, no CDN: the SignalR client is the npm package copied at build time.
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

  const state = { token: null, tenant: null, latest: null, pages: [null], page: 0, follow: null, closeTimer: null };
  const $ = (id) => document.getElementById(id);

  // ---- talking to the API -------------------------------------------------------------------

  async function api(method, path, body) {
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

  async function signIn(tenant) {
    // Development servers issue tokens to local callers; elsewhere the token comes in the URL
    // fragment (#access_token=…), as an identity provider's implicit redirect would put it.
    const fragment = new URLSearchParams(location.hash.slice(1));
    if (fragment.get("access_token")) {
      state.token = fragment.get("access_token");
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

  // ---- the latest sync ----------------------------------------------------------------------

  function renderLatest(sync, fileStatus) {
    state.latest = sync;
    $("latest-empty").hidden = !!sync;
    $("latest-body").hidden = !sync;
    if (!sync) return;
    const status = $("latest-status");
    status.textContent = sync.status;
    status.className = `badge ${sync.status}`;
    $("latest-stage").textContent = sync.status === "completed" ? "All stages done"
      : sync.status === "running" || sync.status === "queued" ? stageText(sync.progress.stage)
      : `Stopped while ${stageText(sync.progress.stage).toLowerCase()}`;
    setBar($("latest-bar"), sync.progress.percentage, sync.status);
    $("latest-percent").textContent = `${sync.progress.percentage}%`;
    $("latest-files").textContent = `${sync.files_processed + sync.files_failed} of ${sync.progress.total_files} files`;
    $("latest-failed").textContent = String(fileStatus ? fileStatus.failed : sync.files_failed);
    $("latest-current").textContent = sync.progress.current_file || "–";
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
    renderClock();
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
    const result = await api("GET", "/api/v1/sync/status");
    if (result.status === 200) renderLatest(result.body.latest_sync, result.body.file_status);
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
    setBar($("modal-bar"), snapshot.percent_complete, snapshot.status);
    $("modal-stage").textContent = `${stageText(snapshot.stage)} · ${snapshot.percent_complete}%`;
    $("modal-found").textContent = String(snapshot.total_items);
    $("modal-processed").textContent = String(snapshot.processed_items);
    $("modal-failed").textContent = String(snapshot.failed_items);
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
  });

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
    try {
      const connection = new signalR.HubConnectionBuilder()
        .withUrl(`/api?sync_id=${encodeURIComponent(syncId)}`, { accessTokenFactory: () => state.token })
        .build();
      for (const name of EVENTS) connection.on(name, (snapshot) => { if (state.follow === current) updateModal(snapshot); });
      current.connection = connection;
      await connection.start();
      $("live").textContent = "Live: SignalR";
      // Events sent before the connection joined are read once from the API.
      const now = await api("GET", `/api/sync-progress/${syncId}`);
      if (now.status === 200 && state.follow === current) updateModal(now.body);
    } catch {
      if (state.follow !== current) return;
      current.connection = null;
      followStream(current);
    }
  }

  // The fallback: the Server-Sent Events stream replays the sync's events from the start.
  function followStream(current) {
    const source = new EventSource(`/api/sync-progress/${encodeURIComponent(current.syncId)}/stream?access_token=${encodeURIComponent(state.token)}`);
    current.source = source;
    $("live").textContent = "Live: event stream";
    for (const name of EVENTS) {
      source.addEventListener(name, (e) => { if (state.follow === current) updateModal(JSON.parse(e.data)); });
    }
  }

  // ---- actions ------------------------------------------------------------------------------

  async function syncNow(connector) {
    notify("");
    const result = connector
      ? await api("POST", `/api/integrations/${encodeURIComponent(connector)}/sync`)
      : await api("POST", "/api/v1/sync");
    if (result.status === 202) {
      openModal(connector ? `Syncing ${connector}` : "Syncing all connectors", "Started.");
      updateModal({ status: "queued", stage: "initializing", percent_complete: 0, total_items: 0, processed_items: 0, failed_items: 0 });
      await follow(result.body.sync_id);
    } else if (result.status === 409) {
      const running = result.body.latest_sync;
      openModal("A sync is already running", result.body.message || "A sync is already running for this tenant.");
      updateModal(fromSync(running));
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
    $("tenant").value = tenant;
    $("live").textContent = `Signed in to tenant ${tenant}`;
    await refreshAll();
  }

  // ---- wiring -------------------------------------------------------------------------------

  $("sync-now").addEventListener("click", () => syncNow(null));
  $("cleanup").addEventListener("click", cleanup);
  $("modal-close").addEventListener("click", closeModal);
  $("modal-backdrop").addEventListener("keydown", (e) => { if (e.key === "Escape") closeModal(); });
  $("history-older").addEventListener("click", () => { state.page++; refreshHistory(); });
  $("history-newer").addEventListener("click", () => { state.page = Math.max(0, state.page - 1); refreshHistory(); });
  $("signin").addEventListener("submit", (e) => {
    e.preventDefault();
    state.pages = [null];
    state.page = 0;
    start($("tenant").value.trim());
  });
  setInterval(() => { if (state.token) refreshStatus(); }, 2000);
  setInterval(renderClock, 1000);

  const tenant = new URLSearchParams(location.search).get("tenant") || sessionStorage.getItem("syncfunctions.tenant") || "demo";
  start(tenant);
})();
