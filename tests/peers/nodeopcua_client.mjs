// Independent OPC UA client (node-opcua) used by trustfloor's interop tests.
// Usage: node nodeopcua_client.mjs '<json request>'; prints one JSON object on stdout.
// Request: {endpoint, policy, mode, user, password, pkiDir, namespaceUri, nodes: [string ids],
//           repeat, intervalMs, browse: bool}
import {
  OPCUAClient, MessageSecurityMode, SecurityPolicy, AttributeIds, UserTokenType,
  OPCUACertificateManager, StatusCodes,
} from "node-opcua";

const request = JSON.parse(process.argv[2]);

function securityOf(req) {
  return {
    securityPolicy: SecurityPolicy[req.policy ?? "Basic256Sha256"],
    securityMode: MessageSecurityMode[req.mode ?? "SignAndEncrypt"],
  };
}

async function withSession(req, work) {
  const certificateManager = new OPCUACertificateManager({
    rootFolder: req.pkiDir, automaticallyAcceptUnknownCertificate: true,
  });
  await certificateManager.initialize();
  const client = OPCUAClient.create({
    applicationName: "trustfloor-interop-nodeopcua",
    clientCertificateManager: certificateManager,
    endpointMustExist: false,
    connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
    ...securityOf(req),
  });
  await client.connect(req.endpoint);
  try {
    const identity = req.user
      ? { type: UserTokenType.UserName, userName: req.user, password: req.password }
      : { type: UserTokenType.Anonymous };
    const session = await client.createSession(identity);
    try {
      return await work(session);
    } finally {
      await session.close();
    }
  } finally {
    await client.disconnect();
  }
}

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

try {
  const output = await withSession(request, async (session) => {
    const out = {};
    if (request.browse) Object.assign(out, await browseMachines(session, request));
    if (request.nodes) Object.assign(out, await readValues(session, request));
    return out;
  });
  console.log(JSON.stringify({ ok: true, ...output }));
  process.exit(0);
} catch (error) {
  const status = error.response?.responseHeader?.serviceResult ?? null;
  console.log(JSON.stringify({ ok: false, error: String(error.message ?? error), status: status ? status.name : null }));
  process.exit(1);
}
