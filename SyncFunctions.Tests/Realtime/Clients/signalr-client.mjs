// Connects to the SignalR hub with the npm `@microsoft/signalr` client (in Node it uses its `ws`
// dependency), as tenant A and as tenant B, and reports what each connection heard as JSON lines on
// stdout. The test drives it through stdin, one JSON line per step:
//   out {"type":"refused","who":"anonymous","message":"…"}  a connection without a token
//   out {"type":"ready"}                                      A and B connected tenant-wide
//   in  {"a_sync":"…"}                                        the test triggered A's sync
//   out {"type":"watching"}                                   B asked for A's sync, then A did too
//   out {"type":"a_ended"}                                    A's end reached both A connections
//   in  {"b_sync":"…"}                                        the test triggered B's sync
//   out {"type":"heard","connection":"a"|"a_sync"|"b"|"b_spy","events":[{"event","sync_id","percent"}]}
//   out {"type":"done"}
// Settings come from the environment: SYNC_BASE_URL, TOKEN_A, TOKEN_B, CLIENT_TIMEOUT_MS.
import { createInterface } from "node:readline";
import signalR from "@microsoft/signalr";

const { SYNC_BASE_URL: baseUrl, TOKEN_A: tokenA, TOKEN_B: tokenB } = process.env;
const timeoutMs = Number(process.env.CLIENT_TIMEOUT_MS ?? "60000");
const eventNames = ["started", "progress", "complete", "error"];

const emit = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);
const connections = [];
const deadline = setTimeout(() => {
  emit({ type: "timeout", after_ms: timeoutMs });
  process.exit(3);
}, timeoutMs);

function build(token, syncId) {
  const url = syncId ? `${baseUrl}/api?sync_id=${encodeURIComponent(syncId)}` : `${baseUrl}/api`;
  return new signalR.HubConnectionBuilder()
    .withUrl(url, token ? { accessTokenFactory: () => token } : {})
    .configureLogging(signalR.LogLevel.Warning) // warnings and errors go to stderr; stdout stays JSON
    .build();
}

/** Connects and records every event it hears; `waitFor(predicate)` resolves once one matches. */
async function connect(name, token, syncId) {
  const connection = build(token, syncId);
  const heard = [];
  const waiters = [];
  for (const event of eventNames) {
    connection.on(event, (snapshot) => {
      heard.push({ event, sync_id: snapshot.sync_id, percent: snapshot.percent_complete });
      for (const waiter of waiters.filter((w) => w.predicate(heard.at(-1)))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    });
  }

  await connection.start();
  const entry = {
    name,
    connection,
    heard,
    waitFor: (predicate) => heard.some(predicate) ? Promise.resolve() : new Promise((resolve) => waiters.push({ predicate, resolve })),
  };
  connections.push(entry);
  return entry;
}

const isEndOf = (syncId) => (e) => e.sync_id === syncId && (e.event === "complete" || e.event === "error");

const input = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function receive(key) {
  const { value, done } = await input.next();
  if (done) throw new Error(`stdin closed while waiting for ${key}`);
  const message = JSON.parse(value);
  if (typeof message[key] !== "string") throw new Error(`expected ${key}, got ${value}`);
  return message[key];
}

try {
  const anonymous = build(null);
  try {
    await anonymous.start();
    emit({ type: "accepted", who: "anonymous" });
    await anonymous.stop();
  } catch (error) {
    // The client wraps the negotiate's HttpError in its own error and keeps only the message ("…: Status code '401'").
    emit({ type: "refused", who: "anonymous", error: error.name, message: String(error.message) });
  }

  const a = await connect("a", tokenA);
  const b = await connect("b", tokenB);
  emit({ type: "ready" });

  const aSync = await receive("a_sync");
  // B asks for A's sync before A's own watcher joins: whatever A's watcher hears, B's was there to hear.
  const bSpy = await connect("b_spy", tokenB, aSync);
  const aWatcher = await connect("a_sync", tokenA, aSync);
  emit({ type: "watching" });
  await Promise.all([a.waitFor(isEndOf(aSync)), aWatcher.waitFor(isEndOf(aSync))]);
  emit({ type: "a_ended" });

  // A's sends are over, and a connection hears its messages in order: had B been sent any of A's, they
  // would arrive before B's own end.
  const bSync = await receive("b_sync");
  await b.waitFor(isEndOf(bSync));

  for (const { name, heard } of [a, aWatcher, b, bSpy]) {
    emit({ type: "heard", connection: name, events: heard });
  }

  emit({ type: "done" });
} catch (error) {
  emit({ type: "failed", message: String(error?.stack ?? error) });
  process.exitCode = 1;
} finally {
  clearTimeout(deadline);
  await Promise.allSettled(connections.map((c) => c.connection.stop()));
  process.exit();
}
