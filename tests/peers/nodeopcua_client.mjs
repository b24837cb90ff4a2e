// Independent OPC UA client (node-opcua) used by trustfloor's interop tests.
// Usage: node nodeopcua_client.mjs '<json request>'; prints one JSON object on stdout.
// Request: {endpoint, policy, mode, user, password, pkiDir, namespaceUri, nodes: [string ids],
//           repeat, intervalMs, browse: bool, ops: [operation]}
// Operations (ids are strings in the site namespace): {op: "subscribe", nodes, durationMs},
//   {op: "call", objectId, methodId, args: [{type, value}]},
//   {op: "historyRaw", node, seconds}, {op: "historyProcessed", node, seconds, intervalMs, aggregate},
//   {op: "browsePath", path: [[namespaceUri, name], ...]}: the node's value, type definition and
//     children,
//   {op: "machinesByType"}: every machine under the Machinery Machines folder whose
//     Identification is a MachineIdentificationType, with the type's properties read,
//   {op: "jobOrder", method: "Store" | "StoreAndStart", jobOrderId, design, quantity}
//   {op: "jobOrder", method: "Start" | "Abort" | "Clear" | "Cancel" | ..., jobOrderId}: on the
//     object found by its type definition, ISA95JobOrderReceiverObjectType (OPC 10031-4),
//   {op: "jobOrderList"}: the receiver's JobOrderList as {jobOrderId: state}
import {
  AttributeIds, ClientSubscription, ClientMonitoredItem, TimestampsToReturn, DataType,
  AggregateFunction, makeBrowsePath, BrowseDirection, NodeClassMask, resolveNodeId, Variant,
  VariantArrayType,
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

const MACHINERY = "http://opcfoundation.org/UA/Machinery/";
const ISA95 = "http://opcfoundation.org/UA/ISA95-JOBCONTROL_V2/";

async function namespaceIndex(session, uri) {
  const ns = (await session.readNamespaceArray()).indexOf(uri);
  if (ns < 0) throw new Error(`namespace ${uri} not offered`);
  return ns;
}

async function browseMachines(session) {
  const machinery = await namespaceIndex(session, MACHINERY);
  const result = await session.browse(`ns=${machinery};i=1001`);
  return { machines: result.references.map((r) => r.browseName.name) };
}

// Forward hierarchical references of `nodeId` (HasComponent, HasAddIn, HasProperty, Organizes).
async function children(session, nodeId) {
  const result = await session.browse({
    nodeId, browseDirection: BrowseDirection.Forward, referenceTypeId: "HierarchicalReferences",
    includeSubtypes: true, nodeClassMask: NodeClassMask.Object | NodeClassMask.Variable,
    resultMask: 63,
  });
  return result.references ?? [];
}

// The type and its supertypes, most derived first (HasSubtype followed backwards).
async function typeChain(session, typeId) {
  const chain = [];
  let current = typeId;
  while (current && chain.length < 10) {
    chain.push(current);
    const parent = await session.browse({
      nodeId: current, browseDirection: BrowseDirection.Inverse, referenceTypeId: "HasSubtype",
      includeSubtypes: false, resultMask: 63,
    });
    current = parent.references?.[0]?.nodeId;
  }
  return chain;
}

function isType(chain, wanted) {
  return chain.some((t) => t.toString() === wanted.toString());
}

// Properties an instance of `typeId` may carry: the HasProperty targets of the type and its
// supertypes, and of the interfaces they implement (DI's nameplate interfaces).
async function typeProperties(session, typeId) {
  const names = new Map();
  for (const type of await typeChain(session, typeId)) {
    const sources = [type];
    const interfaces = await session.browse({
      nodeId: type, browseDirection: BrowseDirection.Forward, referenceTypeId: "HasInterface",
      includeSubtypes: true, resultMask: 63,
    });
    for (const ref of interfaces.references ?? []) sources.push(ref.nodeId);
    for (const source of sources) {
      for (const ref of await children(session, source)) {
        if (ref.nodeClass === 2 && ref.browseName.name !== "DefaultInstanceBrowseName") {
          names.set(ref.browseName.toString(), ref.browseName);
        }
      }
    }
  }
  return [...names.values()];
}

function plain(value) {
  if (value === null || value === undefined) return null;
  if (typeof value === "object" && "text" in value) return value.text;
  if (typeof value === "object" && typeof value.toString === "function") return value.toString();
  return value;
}

async function machinesByType(session) {
  const machinery = await namespaceIndex(session, MACHINERY);
  const identificationType = resolveNodeId(`ns=${machinery};i=1012`);
  const properties = await typeProperties(session, identificationType);
  const machines = {};
  for (const machine of await children(session, `ns=${machinery};i=1001`)) {
    const parts = await children(session, machine.nodeId);
    for (const part of parts) {
      if (!isType(await typeChain(session, part.typeDefinition), identificationType)) continue;
      const identification = {};
      for (const property of properties) {
        const path = makeBrowsePath(part.nodeId, `/${property.namespaceIndex}:${property.name}`);
        const target = (await session.translateBrowsePath(path)).targets?.[0]?.targetId;
        if (!target) continue;
        const value = await session.read({ nodeId: target, attributeId: AttributeIds.Value });
        identification[property.name] = plain(value.value.value);
      }
      machines[machine.browseName.name] = {
        nodeId: machine.nodeId.toString(), identificationType: part.typeDefinition.toString(),
        identification,
      };
    }
  }
  return { machines, identificationProperties: properties.map((p) => p.name) };
}

// The object under Objects whose type is ISA95JobOrderReceiverObjectType (or a subtype).
async function findReceiver(session) {
  const isa95 = await namespaceIndex(session, ISA95);
  const receiverType = resolveNodeId(`ns=${isa95};i=1002`);
  for (const ref of await children(session, "i=85")) {
    if (ref.nodeClass !== 1) continue;
    if (isType(await typeChain(session, ref.typeDefinition), receiverType)) {
      return { nodeId: ref.nodeId, isa95 };
    }
  }
  throw new Error("no ISA95JobOrderReceiverObjectType instance under Objects");
}

async function jobOrder(session, op) {
  const { nodeId, isa95 } = await findReceiver(session);
  const path = makeBrowsePath(nodeId, `/${isa95}:${op.method}`);
  const methodId = (await session.translateBrowsePath(path)).targets?.[0]?.targetId;
  if (!methodId) throw new Error(`the receiver has no ${op.method} method`);
  let first;
  if (op.method === "Store" || op.method === "StoreAndStart") {
    const data = await session.constructExtensionObject(resolveNodeId(`ns=${isa95};i=3008`), {
      jobOrderID: op.jobOrderId,
      workMasterID: [{ ID: op.design }],
      jobOrderParameters: [{
        ID: "Quantity", value: new Variant({ dataType: DataType.UInt32, value: op.quantity }),
      }],
    });
    first = { dataType: DataType.ExtensionObject, value: data };
  } else {
    first = { dataType: DataType.String, value: op.jobOrderId };
  }
  const comment = {
    dataType: DataType.LocalizedText, arrayType: VariantArrayType.Array, value: [],
  };
  const result = await session.call({ objectId: nodeId, methodId, inputArguments: [first, comment] });
  return {
    receiver: nodeId.toString(), status: result.statusCode.name,
    outputs: (result.outputArguments ?? []).map((v) => (
      Array.isArray(v.value) ? v.value[0] * 2 ** 32 + v.value[1] : Number(v.value))),
  };
}

async function jobOrderList(session) {
  const { nodeId, isa95 } = await findReceiver(session);
  const path = makeBrowsePath(nodeId, `/${isa95}:JobOrderList`);
  const target = (await session.translateBrowsePath(path)).targets?.[0]?.targetId;
  const value = await session.read({ nodeId: target, attributeId: AttributeIds.Value });
  const states = {};
  for (const entry of value.value.value ?? []) {
    states[entry.jobOrder.jobOrderID] = entry.state?.[0]?.stateText?.text ?? null;
  }
  return { states };
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
    inputArguments: (op.args ?? []).map((a) => ({
      dataType: DataType[a.type],
      value: a.type === "DateTime" ? new Date(a.value) : a.value,
    })),
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
  const value = await session.read({ nodeId: target, attributeId: AttributeIds.Value });
  const typeDefinition = await session.browse({
    nodeId: target, browseDirection: BrowseDirection.Forward, referenceTypeId: "HasTypeDefinition",
    includeSubtypes: false, resultMask: 63,
  });
  return {
    status: result.statusCode.name,
    nodeId: target.toString(),
    value: plain(value.value.value),
    typeDefinition: typeDefinition.references?.[0]?.nodeId.toString() ?? null,
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
      else if (op.op === "machinesByType") results.push(await machinesByType(session));
      else if (op.op === "jobOrder") results.push(await jobOrder(session, op));
      else if (op.op === "jobOrderList") results.push(await jobOrderList(session));
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
    if (request.browse) Object.assign(out, await browseMachines(session));
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
