// An independent AM printer (node-opcua) with a vendor's own layout, not the companion specs':
// trustfloor must drive it by its mapping alone (config/examples/printer-vendor.toml).
// Usage: node vendor_printer.mjs '<json request>'; prints "READY <port>" once it listens on
// 127.0.0.1, then serves until SIGTERM/SIGINT or until its stdin closes.
// Request: {port, pkiDir, user, password, layerMs, excursionEvery}
// Security: Basic256Sha256 SignAndEncrypt only, the one user only.
// Address space (namespace urn:acme-additive:lpbf, string NodeIds under s=AcmeLPBF/...):
//   AcmeLPBF/Status/{BuildState (READY, LOADED, BUILDING, DONE, STOPPED), ActiveJob, Layer,
//                    TotalLayers, JobHash, StopCause}
//   AcmeLPBF/Powder/{Alloy, Batch/BatchId}            the lot sits under its own Batch object
//   AcmeLPBF/Sensors/{LaserKW (kW), OxygenPercent (%), PlatformTemp (°C), LayerSeconds (s)}
//   AcmeLPBF/Control/{LoadJob(JobName, PartNumber, JobHash, Layers: Int32), RunJob(JobName),
//                     CancelJob(JobName)} each answering one String: "ACCEPTED" or
//                     "REJECTED: <why>"
// Every excursionEvery-th job run (0: none) gets its laser 15% high for its first fifth.
import { OPCUAServer, OPCUACertificateManager, MessageSecurityMode, SecurityPolicy, DataType, Variant, StatusCodes } from "node-opcua";
import { stopOnSignals } from "./nodeopcua_common.mjs";

const NAMESPACE_URI = "urn:acme-additive:lpbf";
const request = JSON.parse(process.argv[2] ?? "{}");

const printer = {
  state: "READY", job: "", layer: 0, total: 0, hash: "", part: "", stopCause: "",
  loaded: null, runs: 0, faulty: false,
};

function noise(scale) {
  return (Math.random() - 0.5) * 2 * scale;
}

function sensors() {
  const building = printer.state === "BUILDING";
  const excursion = building && printer.faulty && printer.layer < printer.total / 5;
  return {
    LaserKW: building ? 0.28 * (excursion ? 1.15 : 1) + noise(0.001) : 0.0,
    OxygenPercent: 0.04 + noise(0.002),
    PlatformTemp: 180.0 + noise(0.3),
    LayerSeconds: building ? 40.0 + noise(0.5) : 0.0,
  };
}

function populate(server) {
  const addressSpace = server.engine.addressSpace;
  const ns = addressSpace.registerNamespace(NAMESPACE_URI);
  const root = ns.addObject({
    organizedBy: addressSpace.rootFolder.objects, browseName: "AcmeLPBF", nodeId: "s=AcmeLPBF",
  });
  const folder = (parent, name, id) => ns.addObject({ componentOf: parent, browseName: name, nodeId: `s=${id}` });
  const status = folder(root, "Status", "AcmeLPBF/Status");
  const powder = folder(root, "Powder", "AcmeLPBF/Powder");
  const batch = folder(powder, "Batch", "AcmeLPBF/Powder/Batch");
  const sensorFolder = folder(root, "Sensors", "AcmeLPBF/Sensors");
  const control = folder(root, "Control", "AcmeLPBF/Control");
  const variables = [];
  const variable = (parent, id, name, dataType, read) => {
    const node = ns.addVariable({
      componentOf: parent, browseName: name, nodeId: `s=${id}/${name}`, dataType,
      minimumSamplingInterval: 50,
      value: { get: () => new Variant({ dataType: DataType[dataType], value: read() }) },
    });
    variables.push(node);
    return node;
  };
  variable(status, "AcmeLPBF/Status", "BuildState", "String", () => printer.state);
  variable(status, "AcmeLPBF/Status", "ActiveJob", "String", () => printer.job);
  variable(status, "AcmeLPBF/Status", "Layer", "Int32", () => printer.layer);
  variable(status, "AcmeLPBF/Status", "TotalLayers", "Int32", () => printer.total);
  variable(status, "AcmeLPBF/Status", "JobHash", "String", () => printer.hash);
  variable(status, "AcmeLPBF/Status", "StopCause", "String", () => printer.stopCause);
  variable(powder, "AcmeLPBF/Powder", "Alloy", "String", () => "Ti6Al4V Grade 23");
  variable(batch, "AcmeLPBF/Powder/Batch", "BatchId", "String", () => "ACME-PWD-7731");
  let current = sensors();
  for (const name of Object.keys(current)) {
    variable(sensorFolder, "AcmeLPBF/Sensors", name, "Double", () => current[name]);
  }
  const method = (name, inputs, action) => {
    const node = ns.addMethod(control, {
      browseName: name, nodeId: `s=AcmeLPBF/Control/${name}`,
      inputArguments: inputs.map(([argName, dataType]) => ({ name: argName, dataType: DataType[dataType] })),
      outputArguments: [{ name: "Result", dataType: DataType.String }],
    });
    node.bindMethod((args, _context, callback) => {
      const result = action(...args.map((a) => a.value));
      callback(null, {
        statusCode: StatusCodes.Good,
        outputArguments: [new Variant({ dataType: DataType.String, value: result })],
      });
    });
  };
  method("LoadJob", [["JobName", "String"], ["PartNumber", "String"], ["JobHash", "String"], ["Layers", "Int32"]],
    (job, part, hash, layers) => {
      if (printer.state === "BUILDING") return `REJECTED: building ${printer.job}`;
      if (!job || layers < 1) return "REJECTED: a job needs a name and layers";
      printer.loaded = { job, part, hash, layers };
      printer.state = "LOADED";
      return "ACCEPTED";
    });
  method("RunJob", [["JobName", "String"]], (job) => {
    if (printer.state === "BUILDING") return `REJECTED: building ${printer.job}`;
    if (!printer.loaded || printer.loaded.job !== job) return `REJECTED: job ${job} is not loaded`;
    Object.assign(printer, {
      state: "BUILDING", job, layer: 0, total: printer.loaded.layers, hash: printer.loaded.hash,
      part: printer.loaded.part, stopCause: "", loaded: null,
    });
    printer.runs += 1;
    printer.faulty = (request.excursionEvery ?? 0) > 0 && printer.runs % request.excursionEvery === 0;
    return "ACCEPTED";
  });
  method("CancelJob", [["JobName", "String"]], (job) => {
    if (printer.state !== "BUILDING" || printer.job !== job) return `REJECTED: not building ${job}`;
    Object.assign(printer, { state: "STOPPED", stopCause: "cancelled by the operator" });
    return "ACCEPTED";
  });
  return setInterval(() => {
    if (printer.state === "BUILDING") {
      printer.layer += 1;
      if (printer.layer >= printer.total) printer.state = "DONE";
    }
    current = sensors();
    for (const node of variables) node.touchValue();
  }, request.layerMs ?? 20);
}

const certificateManager = new OPCUACertificateManager({
  rootFolder: request.pkiDir, automaticallyAcceptUnknownCertificate: true,
});
await certificateManager.initialize();
const server = new OPCUAServer({
  host: "127.0.0.1",
  hostname: "127.0.0.1",
  port: request.port,
  resourcePath: "/acme",
  serverCertificateManager: certificateManager,
  userManager: { isValidUser: (userName, password) => userName === request.user && password === request.password },
  allowAnonymous: false,
  securityPolicies: [SecurityPolicy.Basic256Sha256],
  securityModes: [MessageSecurityMode.SignAndEncrypt],
});
await server.initialize();
const ticker = populate(server);
await server.start();
console.log(`READY ${server.endpoints[0].port}`);

const stop = stopOnSignals(server, () => clearInterval(ticker));
process.stdin.on("end", stop);
process.stdin.resume();
