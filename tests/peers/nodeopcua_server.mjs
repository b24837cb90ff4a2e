// Independent OPC UA server (node-opcua) standing in for a machine's PLC in trustfloor's tests.
// Usage: node nodeopcua_server.mjs '<json request>'; prints "READY <port>" once it listens on
// 127.0.0.1, then serves until SIGTERM/SIGINT or until its stdin closes.
// Request: {port, path, pkiDir, user, password, secure: bool, tickMs}
// Address space (namespace urn:trustfloor:tests:nodeopcua-machine, string NodeIds):
//   Counter      Double, +1 every tickMs (shows that a subscription is alive)
//   Setpoint     Double, writable; refuses a value that carries a source or server timestamp
//                with BadWriteNotSupported, as PLCs and open62541 servers do
//   Running      Boolean, true
//   Mode         String, "auto"
//   Drifting     Double 42.0 with status UncertainLastUsableValue
//   Broken       Double with status BadSensorFailure
import {
  OPCUAServer, OPCUACertificateManager, MessageSecurityMode, SecurityPolicy, DataType,
  DataValue, Variant, StatusCodes, AttributeIds,
} from "node-opcua";
import { stopOnSignals } from "./nodeopcua_common.mjs";

export const NAMESPACE_URI = "urn:trustfloor:tests:nodeopcua-machine";
const request = JSON.parse(process.argv[2] ?? "{}");

function endpointSecurity(req) {
  if (!req.secure) {
    return { securityPolicies: [SecurityPolicy.None], securityModes: [MessageSecurityMode.None] };
  }
  return {
    securityPolicies: [SecurityPolicy.Basic256Sha256],
    securityModes: [MessageSecurityMode.SignAndEncrypt],
  };
}

function userManager(req) {
  if (!req.user) return undefined;
  return { isValidUser: (userName, password) => userName === req.user && password === req.password };
}

async function certificateManager(req) {
  const manager = new OPCUACertificateManager({
    rootFolder: req.pkiDir, automaticallyAcceptUnknownCertificate: true,
  });
  await manager.initialize();
  return manager;
}

function refuseTimestampedWrites(variable) {
  const write = variable.writeAttribute.bind(variable);
  variable.writeAttribute = (context, writeValue, callback) => {
    const dataValue = writeValue.value;
    if (writeValue.attributeId === AttributeIds.Value
        && (dataValue?.sourceTimestamp || dataValue?.serverTimestamp)) {
      callback(null, StatusCodes.BadWriteNotSupported);
      return;
    }
    write(context, writeValue, callback);
  };
}

function fixedValue(dataType, value, statusCode) {
  return {
    timestamped_get: () => new DataValue({
      value: new Variant({ dataType, value }), statusCode, sourceTimestamp: new Date(),
    }),
  };
}

function populate(server, req) {
  const addressSpace = server.engine.addressSpace;
  const namespace = addressSpace.registerNamespace(NAMESPACE_URI);
  const machine = namespace.addObject({
    organizedBy: addressSpace.rootFolder.objects, browseName: "Machine", nodeId: "s=Machine",
  });
  const add = (name, dataType, value, extra = {}) => namespace.addVariable({
    componentOf: machine, browseName: name, nodeId: `s=${name}`, dataType, value,
    minimumSamplingInterval: 50, ...extra,
  });
  let counter = 0;
  const counterNode = add("Counter", "Double", { get: () => new Variant({ dataType: DataType.Double, value: counter }) });
  const ticker = setInterval(() => {
    counter += 1;
    counterNode.touchValue();
  }, req.tickMs ?? 100);
  refuseTimestampedWrites(add("Setpoint", "Double", { dataType: DataType.Double, value: 0.0 }, {
    accessLevel: "CurrentRead | CurrentWrite", userAccessLevel: "CurrentRead | CurrentWrite",
  }));
  add("Running", "Boolean", { get: () => new Variant({ dataType: DataType.Boolean, value: true }) });
  add("Mode", "String", { get: () => new Variant({ dataType: DataType.String, value: "auto" }) });
  add("Drifting", "Double", fixedValue(DataType.Double, 42.0, StatusCodes.UncertainLastUsableValue));
  add("Broken", "Double", fixedValue(DataType.Double, 0.0, StatusCodes.BadSensorFailure));
  return ticker;
}

const server = new OPCUAServer({
  host: "127.0.0.1",
  hostname: "127.0.0.1",
  port: request.port,
  resourcePath: `/${request.path ?? "machine"}`,
  serverCertificateManager: await certificateManager(request),
  userManager: userManager(request),
  allowAnonymous: !request.user,
  ...endpointSecurity(request),
});
await server.initialize();
const ticker = populate(server, request);
await server.start();
console.log(`READY ${server.endpoints[0].port}`);

const stop = stopOnSignals(server, () => clearInterval(ticker));
process.stdin.on("end", stop);
process.stdin.resume();
