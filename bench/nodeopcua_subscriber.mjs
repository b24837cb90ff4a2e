// node-opcua client for bench/opcua.py's saturation case: one subscriber for every server.
// Usage: node nodeopcua_subscriber.mjs, with the request as the first line on stdin:
// {"endpoint", "user" (optional), "password", "nodeIds": ["ns=2;s=..."],
// "publishingMs", "seconds"}. Connects with security None, monitors every node (sampling at the
// publishing interval, queue size 1), prints "READY" once the items exist, waits for a "go"
// line on stdin, counts data-change notifications for `seconds` and prints one JSON line:
// {"notifications", "seconds", "client_cpu_s"}.
import readline from "node:readline";
import {
  OPCUAClient, MessageSecurityMode, SecurityPolicy, UserTokenType, AttributeIds,
  ClientMonitoredItemGroup, TimestampsToReturn,
} from "node-opcua";

const lines = readline.createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => lines.once("line", resolve));
const request = JSON.parse(await nextLine());

const client = OPCUAClient.create({
  applicationName: "trustfloor-bench-subscriber",
  endpointMustExist: false,
  connectionStrategy: { maxRetry: 0 },
  securityMode: MessageSecurityMode.None,
  securityPolicy: SecurityPolicy.None,
});
await client.connect(request.endpoint);
const identity = request.user
  ? { type: UserTokenType.UserName, userName: request.user, password: request.password }
  : { type: UserTokenType.Anonymous };
const session = await client.createSession(identity);
const subscription = await session.createSubscription2({
  requestedPublishingInterval: request.publishingMs,
  requestedLifetimeCount: 6000,
  requestedMaxKeepAliveCount: 20,
  maxNotificationsPerPublish: 0,
  publishingEnabled: true,
  priority: 1,
});
const items = request.nodeIds.map((nodeId) => ({ nodeId, attributeId: AttributeIds.Value }));
const group = ClientMonitoredItemGroup.create(
  subscription,
  items,
  { samplingInterval: request.publishingMs, queueSize: 1, discardOldest: true },
  TimestampsToReturn.Both,
);
let notifications = 0;
group.on("changed", () => { notifications += 1; });
await new Promise((resolve) => group.on("initialized", resolve));
console.log("READY");
await nextLine();
const counted = notifications;
const cpu = process.cpuUsage();
const started = process.hrtime.bigint();
await new Promise((resolve) => setTimeout(resolve, request.seconds * 1000));
const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
const used = process.cpuUsage(cpu);
console.log(JSON.stringify({
  notifications: notifications - counted,
  seconds: elapsed,
  client_cpu_s: (used.user + used.system) / 1e6,
}));
await group.terminate();
await subscription.terminate();
await session.close();
await client.disconnect();
lines.close();
