// Independent OPC UA alarm client (node-opcua) used by trustfloor's interop tests.
// Usage: node nodeopcua_alarms.mjs '<json request>'; prints JSON lines on stdout: {"ready": label}
// when it waits for the test, then one result object {ok, events, calls, refreshes}.
// Request: {endpoint, policy, mode, user, password, pkiDir, steps: [step, ...]} where a step is
//   {"ready": label}                        print {"ready": label}, then go on
//   {"await": conditionName}                wait for the next event of that condition
//   {"refresh": true}                       ConditionRefresh; wait for the RefreshEndEvent
//   {"call": "Acknowledge" | "Confirm", "condition": name, "eventId": "latest" | "stale",
//    "comment": text}                       call it on the condition (by its ConditionId);
//                                           when Good, wait for the event it causes
// Events are subscribed on the Server object without a where clause, so every event arrives.
// Optional request.extraFields: more fields to select, as node-opcua names them ("3:PlannedDate",
// "3:MaintenanceState.CurrentState"); each event then has {extra: {name: value}}.
import {
  AttributeIds, TimestampsToReturn, ClientMonitoredItem, constructEventFilter,
  callConditionRefresh, ObjectTypeIds, resolveNodeId,
} from "node-opcua";
import { withSession } from "./nodeopcua_common.mjs";

const request = JSON.parse(process.argv[2]);
const FIELDS = [
  "EventId", "ConditionId", "EventType", "SourceNode", "SourceName", "Severity", "Message",
  "ActiveState.Id", "AckedState.Id", "ConfirmedState.Id", "Retain", "ConditionName", "Comment",
  "ClientUserId", "Time",
];
const EXTRA = request.extraFields ?? [];
const REFRESH_START = `ns=0;i=${ObjectTypeIds.RefreshStartEventType}`; // as NodeId.toString() prints
const REFRESH_END = `ns=0;i=${ObjectTypeIds.RefreshEndEventType}`;

// A field's value as JSON: times as ISO text, texts as their text, NodeIds as strings.
function plain(value) {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof Date) return value.toISOString();
  if (value.text !== undefined) return value.text;
  if (value.namespace !== undefined && value.identifierType !== undefined) return value.toString();
  if (typeof value === "object") {
    return Object.fromEntries(Object.entries(value.toJSON ? value.toJSON() : value)
      .map(([key, inner]) => [key, plain(inner)]));
  }
  return value;
}

function toJson(values) {
  const v = Object.fromEntries(FIELDS.map((name, i) => [name, values[i].value]));
  const extra = Object.fromEntries(
    EXTRA.map((name, i) => [name, plain(values[FIELDS.length + i].value)]),
  );
  return {
    extra,
    eventId: v.EventId ? v.EventId.toString("hex") : null,
    conditionId: v.ConditionId ? v.ConditionId.toString() : null,
    eventType: v.EventType ? v.EventType.toString() : null,
    sourceNode: v.SourceNode ? v.SourceNode.toString() : null,
    sourceName: v.SourceName,
    severity: v.Severity,
    message: v.Message ? v.Message.text : null,
    active: v["ActiveState.Id"],
    acked: v["AckedState.Id"],
    confirmed: v["ConfirmedState.Id"],
    retain: v.Retain,
    conditionName: v.ConditionName,
    comment: v.Comment ? v.Comment.text : null,
    clientUserId: v.ClientUserId,
    time: v.Time ? v.Time.toISOString() : null,
  };
}

class EventLog {
  constructor() { this.events = []; this.read = 0; this.waiters = []; }
  push(event) {
    this.events.push(event);
    for (const wake of this.waiters.splice(0)) wake();
  }
  // The next unread event matching `test` (older unread ones are skipped).
  async next(test, timeoutMs = 15000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.read < this.events.length) {
        const event = this.events[this.read++];
        if (test(event)) return event;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for an event");
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }
  latest(name, back = 0) {
    const mine = this.events.filter((e) => e.conditionName === name);
    return mine[mine.length - 1 - back];
  }
}

async function subscribeEvents(session, log) {
  const subscription = await session.createSubscription2({
    requestedPublishingInterval: 50, requestedLifetimeCount: 600, requestedMaxKeepAliveCount: 20,
    maxNotificationsPerPublish: 0, publishingEnabled: true, priority: 1,
  });
  const item = ClientMonitoredItem.create(
    subscription,
    { nodeId: resolveNodeId("Server"), attributeId: AttributeIds.EventNotifier },
    { filter: constructEventFilter([...FIELDS, ...EXTRA]), queueSize: 1000, discardOldest: false },
    TimestampsToReturn.Neither,
  );
  item.on("changed", (values) => log.push(toJson(values)));
  await new Promise((resolve, reject) => {
    item.once("initialized", resolve);
    item.once("err", (message) => reject(new Error(String(message))));
  });
  return subscription;
}

async function refresh(session, subscription, log) {
  const start = log.events.length;
  const status = await callConditionRefresh(session, subscription.subscriptionId);
  if (status.isNotGood()) return { status: status.name, events: [] };
  await log.next((e) => e.eventType === REFRESH_END);
  const events = log.events.slice(start);
  const first = events.findIndex((e) => e.eventType === REFRESH_START);
  const last = events.findIndex((e) => e.eventType === REFRESH_END);
  return { status: status.name, started: first >= 0, events: events.slice(first + 1, last) };
}

async function callMethod(session, step, log) {
  const target = log.latest(step.condition, step.eventId === "stale" ? 1 : 0);
  if (!target) throw new Error(`no event of condition ${step.condition} yet`);
  const conditionId = resolveNodeId(target.conditionId);
  const eventId = Buffer.from(target.eventId, "hex");
  const comment = step.comment ?? "";
  const status = step.call === "Confirm"
    ? await session.confirmCondition(conditionId, eventId, comment)
    : await session.acknowledgeCondition(conditionId, eventId, comment);
  if (status.isGood()) await log.next((e) => e.conditionName === step.condition);
  return { call: step.call, condition: step.condition, eventId: step.eventId, status: status.name };
}

const progress = { step: null, events: [], calls: [], refreshes: [] };

async function run(session) {
  const log = new EventLog();
  progress.events = log.events;
  const subscription = await subscribeEvents(session, log);
  try {
    for (const [index, step] of request.steps.entries()) {
      progress.step = index;
      if (step.ready) console.log(JSON.stringify({ ready: step.ready }));
      else if (step.await) await log.next((e) => e.conditionName === step.await);
      else if (step.refresh) progress.refreshes.push(await refresh(session, subscription, log));
      else if (step.call) progress.calls.push(await callMethod(session, step, log));
    }
  } finally {
    await subscription.terminate();
  }
}

try {
  await withSession(request, "trustfloor-interop-nodeopcua-alarms", run);
  const { events, calls, refreshes } = progress;
  console.log(JSON.stringify({ ok: true, events, calls, refreshes }));
  process.exit(0);
} catch (error) {
  const status = error.response?.responseHeader?.serviceResult ?? null;
  console.log(JSON.stringify({
    ok: false, error: String(error.message ?? error), status: status ? status.name : null, ...progress,
  }));
  process.exit(1);
}
