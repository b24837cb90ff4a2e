// What trustfloor's node-opcua test peers share: a secured client session, and a server that
// stops cleanly on SIGINT/SIGTERM.
import {
  OPCUAClient, MessageSecurityMode, SecurityPolicy, UserTokenType, OPCUACertificateManager,
} from "node-opcua";

// Runs `work(session)` in one session of a new client (request: endpoint, policy, mode, user,
// password, pkiDir); anonymous when no user is given. Closes the session and the connection.
export async function withSession(req, applicationName, work) {
  const certificateManager = new OPCUACertificateManager({
    rootFolder: req.pkiDir, automaticallyAcceptUnknownCertificate: true,
  });
  await certificateManager.initialize();
  const client = OPCUAClient.create({
    applicationName,
    clientCertificateManager: certificateManager,
    endpointMustExist: false,
    connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
    securityPolicy: SecurityPolicy[req.policy ?? "Basic256Sha256"],
    securityMode: MessageSecurityMode[req.mode ?? "SignAndEncrypt"],
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

// Shuts `server` down once on SIGINT or SIGTERM (after `beforeStop`, e.g. clearing a ticker);
// returns the stop function for other triggers (stdin closing).
export function stopOnSignals(server, beforeStop = () => {}) {
  let stopping = false;
  async function stop() {
    if (stopping) return;
    stopping = true;
    beforeStop();
    await server.shutdown(0);
    process.exit(0);
  }
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  return stop;
}
