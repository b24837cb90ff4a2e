// Independent OPC UA client (node-opcua) used by trustfloor's interop tests.
// Usage: node nodeopcua_client.mjs '<json request>'; prints one JSON object on stdout.
// Request: {endpoint, policy, mode, user, password, pkiDir, namespaceUri, nodes: [string ids],
//           repeat, intervalMs, browse: bool, ops: [operation]}
// Operations (ids are strings in the site namespace): {op: "subscribe", nodes, durationMs},
//   {op: "call", objectId, methodId, args: [{type, value}]},
//   {op: "historyRaw", node, seconds}, {op: "historyProcessed", node, seconds, intervalMs, aggregate},
//   {op: "browsePath", path: [[namespaceUri, name], ...]}
import {
  AttributeIds, ClientSubscription, ClientMonitoredItem, TimestampsToReturn, DataType,
  AggregateFunction, makeBrowsePath,
} from "node-opcua";
import { withSession } from "./nodeopcua_common.mjs";

const request = JSON.parse(process.argv[2]);

async function readValues(session, req) {
  const nsArray = await session.readNamespaceArray();
  const ns = nsArray.indexOf(req.namespaceUri);
  if (ns < 0) throw new Error(`namespace ${req.namespaceUri} not offered: ${nsArray}`);
  const nodesToRead = req.nodes.map((id) => ({ nodeId: `ns=${ns};s=${id}`, attributeId: AttributeIds.Value }));
  const rounds = [];
  for (let i = 0; i < (req.repeat ?? 1); i += 1) {
    if (i > 0) await new Promise((r) => setTimeout(r, req.intervalMs ?? 1000));
    const values = await session.read(nodesToRead);
    rounds.push(values.map((dv) => ({
      value: dv.value.value,
      status: dv.statusCode.name,
      sourceTimestamp: dv.sourceTimestamp ? dv.sourceTimestamp.toISOString() : null,
    })));
  }
  return { namespaceIndex: ns, rounds };
}

async function browseMachines(session, req) {
  const nsArray = await session.readNamespaceArray();
  const ns = nsArray.indexOf(req.namespaceUri);
  const result = await session.browse(`ns=${ns};s=Machines`);
  return { machines: result.references.map((r) => r.browseName.name) };
}

async function subscribe(session, ns, op) {
  const subscription = ClientSubscription.create(session, {
    requestedPublishingInterval: 100, requestedMaxKeepAliveCount: 20,
    requestedLifetimeCount: 200, publishingEnabled: true, maxNotificationsPerPublish: 0,
  });
  const changes = {};
  for (const id of op.nodes) {
    changes[id] = [];
    const item = ClientMonitoredItem.create(
      subscription, { nodeId: `ns=${ns};s=${id}`, attributeId: AttributeIds.Value },
      { samplingInterval: 100, queueSize: 10, discardOldest: true }, TimestampsToReturn.Both,
    );
    item.on("changed", (dv) => changes[id].push({ value: dv.value.value, status: dv.statusCode.name }));
  }
  await new Promise((r) => setTimeout(r, op.durationMs ?? 2000));
  await subscription.terminate();
  return { changes };
}

async function callMethod(session, ns, op) {
  const result = await session.call({
    objectId: `ns=${ns};s=${op.objectId}`,
    methodId: `ns=${ns};s=${op.methodId}`,
    inputArguments: (op.args ?? []).map((a) => ({ dataType: DataType[a.type], value: a.value })),
  });
  return { status: result.statusCode.name, outputs: (result.outputArguments ?? []).map((v) => v.value) };
}

async function historyRaw(session, ns, op) {
  const end = new Date();
  const start = new Date(end.getTime() - (op.seconds ?? 300) * 1000);
  const result = await session.readHistoryValue(`ns=${ns};s=${op.node}`, start, end);
  const values = result.historyData?.dataValues ?? [];
  return {
    status: result.statusCode.name,
    values: values.map((dv) => ({ value: dv.value.value, status: dv.statusCode.name, ts: dv.sourceTimestamp?.toISOString() })),
  };
}

async function historyProcessed(session, ns, op) {
  const end = new Date();
  const start = new Date(end.getTime() - (op.seconds ?? 60) * 1000);
  const result = await session.readAggregateValue(
    [{ nodeId: `ns=${ns};s=${op.node}` }], start, end, AggregateFunction[op.aggregate], op.intervalMs,
  );
  const first = Array.isArray(result) ? result[0] : result;
  const values = first.historyData?.dataValues ?? [];
  return {
    status: first.statusCode.name,
    values: values.map((dv) => ({ value: dv.value.value, status: dv.statusCode.name, ts: dv.sourceTimestamp?.toISOString() })),
  };
}

async function browsePath(session, op) {
  const nsArray = await session.readNamespaceArray();
  const path = op.path.map(([uri, name]) => `/${nsArray.indexOf(uri)}:${name}`).join("");
  const result = await session.translateBrowsePath(makeBrowsePath("i=85", path));
  const target = result.targets?.[0]?.targetId;
  if (!target) return { status: result.statusCode.name };
  const children = await session.browse(target);
  const typeDef = await session.read({ nodeId: target, attributeId: AttributeIds.Value });
  return {
    status: result.statusCode.name,
    nodeId: target.toString(),
    value: typeDef.value.value,
    children: children.references.map((r) => r.browseName.name),
  };
}

async function runOps(session, req) {
  const nsArray = await session.readNamespaceArray();
  const ns = nsArray.indexOf(req.namespaceUri);
  const results = [];
  for (const op of req.ops) {
    try {
      if (op.op === "subscribe") results.push(await subscribe(session, ns, op));
      else if (op.op === "call") results.push(await callMethod(session, ns, op));
      else if (op.op === "historyRaw") results.push(await historyRaw(session, ns, op));
      else if (op.op === "historyProcessed") results.push(await historyProcessed(session, ns, op));
      else if (op.op === "browsePath") results.push(await browsePath(session, op));
      else results.push({ error: `unknown op ${op.op}` });
    } catch (error) {
      results.push({ error: String(error.message ?? error) });
    }
  }
  return { results };
}

try {
  const output = await withSession(request, "trustfloor-interop-nodeopcua", async (session) => {
    const out = {};
    if (request.browse) Object.assign(out, await browseMachines(session, request));
    if (request.nodes) Object.assign(out, await readValues(session, request));
    if (request.ops) Object.assign(out, await runOps(session, request));
    return out;
  });
  console.log(JSON.stringify({ ok: true, ...output }));
  process.exit(0);
} catch (error) {
  const status = error.response?.responseHeader?.serviceResult ?? null;
  console.log(JSON.stringify({ ok: false, error: String(error.message ?? error), status: status ? status.name : null }));
  process.exit(1);
}
