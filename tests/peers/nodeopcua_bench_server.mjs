// node-opcua server for bench/opcua.py: the independent implementation trustfloor is compared to.
// Usage: node nodeopcua_bench_server.mjs PORT ITEMS [CHANGE_MS] [PKI_DIR]
// Binds 127.0.0.1:PORT (0 picks a free port) with security None and anonymous access (the
// benchmark measures the service layer, not the crypto), and serves ITEMS Double variables,
// one object per 100 variables: ns=<urn:trustfloor:bench>;s=Bench/o<k>/v<i>.
// Prints one ready line: READY {"endpoint", "namespace_uri", "node_ids"} (JSON).
// Commands on stdin, one per line: "change" starts changing every variable once per CHANGE_MS
// (default 100) with the server's own timer, a tenth of them (v<i> with i % 10 == tick % 10)
// every CHANGE_MS / 10, as bench/opcua.py's Python servers do; "still" stops; stdin closing
// shuts the server down.
import readline from "node:readline";
import {
  OPCUAServer, OPCUACertificateManager, MessageSecurityMode, SecurityPolicy, DataType, StatusCodes,
} from "node-opcua";
import { stopOnSignals } from "./nodeopcua_common.mjs";

const NAMESPACE_URI = "urn:trustfloor:bench";
const PER_OBJECT = 100;
const SLICES = 10;
const port = Number(process.argv[2] ?? 0);
const items = Number(process.argv[3] ?? 1000);
const changeMs = Number(process.argv[4] ?? 100);
const pkiDir = process.argv[5];

async function certificateManager() {
  if (!pkiDir) return undefined;
  const manager = new OPCUACertificateManager({
    rootFolder: pkiDir, automaticallyAcceptUnknownCertificate: true,
  });
  await manager.initialize();
  return manager;
}

function populate(server) {
  const addressSpace = server.engine.addressSpace;
  const namespace = addressSpace.registerNamespace(NAMESPACE_URI);
  const variables = [];
  let parent = null;
  for (let i = 0; i < items; i += 1) {
    const object = Math.floor(i / PER_OBJECT);
    if (i % PER_OBJECT === 0) {
      parent = namespace.addObject({
        organizedBy: addressSpace.rootFolder.objects, browseName: `o${object}`,
        nodeId: `s=Bench/o${object}`,
      });
    }
    variables.push(namespace.addVariable({
      componentOf: parent, browseName: `v${i}`, nodeId: `s=Bench/o${object}/v${i}`,
      dataType: "Double", value: { dataType: DataType.Double, value: 0.0 },
      minimumSamplingInterval: 0,
    }));
  }
  return variables;
}

function nodeIds() {
  return Array.from({ length: items }, (_, i) => `Bench/o${Math.floor(i / PER_OBJECT)}/v${i}`);
}

function startChanging(variables) {
  let tick = 0;
  return setInterval(() => {
    const now = new Date();
    for (let i = tick % SLICES; i < variables.length; i += SLICES) {
      variables[i].setValueFromSource(
        { dataType: DataType.Double, value: tick + i / 1000 }, StatusCodes.Good, now,
      );
    }
    tick += 1;
  }, changeMs / SLICES);
}

const server = new OPCUAServer({
  host: "127.0.0.1",
  hostname: "127.0.0.1",
  port,
  resourcePath: "/bench",
  serverCertificateManager: await certificateManager(),
  securityPolicies: [SecurityPolicy.None],
  securityModes: [MessageSecurityMode.None],
  allowAnonymous: true,
  maxConnectionsPerEndpoint: 20,
  serverCapabilities: { maxMonitoredItems: 100000, maxMonitoredItemsPerSubscription: 100000 },
});
await server.initialize();
const variables = populate(server);
await server.start();
const endpoint = `opc.tcp://127.0.0.1:${server.endpoints[0].port}/bench`;
console.log(`READY ${JSON.stringify({ endpoint, namespace_uri: NAMESPACE_URI, node_ids: nodeIds() })}`);

let ticker = null;
const stop = stopOnSignals(server, () => clearInterval(ticker));
const commands = readline.createInterface({ input: process.stdin });
commands.on("line", (line) => {
  if (line.trim() === "change" && ticker === null) ticker = startChanging(variables);
  if (line.trim() === "still") { clearInterval(ticker); ticker = null; }
});
commands.on("close", stop);
