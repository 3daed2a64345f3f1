// Follows one sync's progress stream with the npm `eventsource` client, as a third-party Node client
// would, and reports what it saw as JSON lines on stdout (the test asserts on them):
//   {"type":"request","last_event_id":null|"…","status":200}  each HTTP request the client made
//   {"type":"event","event":"started","id":"1","data":{…}}    each event of the stream
//   {"type":"connection_error","code":204,"message":"…","ready_state":2}
//   {"type":"stopped","ready_state":2}                           the client closed itself (the end)
// Settings come from the environment: SYNC_BASE_URL, SYNC_TOKEN, SYNC_ID, CLIENT_TIMEOUT_MS.
// It exits 0 once the client has closed itself, non-zero on a timeout or when it keeps reconnecting.
import { EventSource } from "eventsource";

const { SYNC_BASE_URL: baseUrl, SYNC_TOKEN: token, SYNC_ID: syncId } = process.env;
const timeoutMs = Number(process.env.CLIENT_TIMEOUT_MS ?? "60000");
// After the end event one reconnect is expected (answered 204); a few more mean the server keeps
// answering 200 and the client would loop forever.
const maxRequestsAfterEnd = 3;

const emit = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);
const stop = (code) => {
  clearTimeout(deadline);
  source.close();
  process.exitCode = code;
};

// A referenced timer: it bounds the run and keeps Node alive while the client waits to reconnect
// (the client's own reconnect timer is unreferenced).
const deadline = setTimeout(() => {
  emit({ type: "timeout", ready_state: source.readyState, after_ms: timeoutMs });
  stop(3);
}, timeoutMs);

let ended = false;
let requestsAfterEnd = 0;

// EventSource cannot set headers; the v3+ client takes a fetch to do it (the bearer token).
const source = new EventSource(`${baseUrl}/api/sync-progress/${encodeURIComponent(syncId)}/stream`, {
  fetch: async (url, init) => {
    const lastEventId = init.headers?.["Last-Event-ID"] ?? null;
    const response = await fetch(url, { ...init, headers: { ...init.headers, Authorization: `Bearer ${token}` } });
    emit({ type: "request", last_event_id: lastEventId, status: response.status });
    if (ended && ++requestsAfterEnd > maxRequestsAfterEnd) {
      emit({ type: "reconnecting_forever", requests_after_end: requestsAfterEnd });
      stop(4);
    }
    return response;
  },
});

for (const name of ["started", "progress", "complete"]) {
  source.addEventListener(name, (e) => {
    emit({ type: "event", event: name, id: e.lastEventId, data: JSON.parse(e.data) });
    ended ||= name === "complete";
  });
}

// "error" is both the stream's event of a failed sync (a MessageEvent with data) and the client's own
// connection error (no data; the v3+ client adds the HTTP status as `code`).
source.addEventListener("error", (e) => {
  if (typeof e.data === "string") {
    emit({ type: "event", event: "error", id: e.lastEventId, data: JSON.parse(e.data) });
    ended = true;
    return;
  }

  emit({ type: "connection_error", code: e.code ?? null, message: e.message ?? null, ready_state: source.readyState });
  if (source.readyState === EventSource.CLOSED) {
    emit({ type: "stopped", ready_state: source.readyState });
    stop(0);
  }
});
