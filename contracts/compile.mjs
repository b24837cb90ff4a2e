// Compiles contracts/TrustfloorLedger.sol with solc-js into ledger/contract_artifact.json.
//
// Usage: node contracts/compile.mjs [OUTPUT]   (default OUTPUT: ledger/contract_artifact.json)
//
// The artefact is committed so the server needs no Node at run time. Settings are pinned
// (evmVersion paris, optimizer 10000 runs, no metadata hash) so the bytecode is reproducible;
// tests/integration/ledger/test_contract_artifact.py recompiles and compares. 10000 runs
// favour the cost of each call over the size of the code: anchoring is paid for every batch,
// deployment once.

import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import solc from "solc";

const CONTRACT = "TrustfloorLedger";
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const sourcePath = join(root, "contracts", `${CONTRACT}.sol`);
const output = resolve(process.argv[2] ?? join(root, "ledger", "contract_artifact.json"));

const settings = {
  evmVersion: "paris",
  optimizer: { enabled: true, runs: 10000 },
  metadata: { bytecodeHash: "none" },
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
};

const source = readFileSync(sourcePath, "utf8");
const sourceName = relative(root, sourcePath).split("\\").join("/");
const input = { language: "Solidity", sources: { [sourceName]: { content: source } }, settings };
const result = JSON.parse(solc.compile(JSON.stringify(input)));

const problems = (result.errors ?? []).filter((e) => e.severity === "error" || e.severity === "warning");
for (const problem of problems) {
  process.stderr.write(problem.formattedMessage ?? `${problem.message}\n`);
}
if (problems.length > 0) {
  process.stderr.write(`compile.mjs: ${problems.length} error(s)/warning(s); artefact not written\n`);
  process.exit(1);
}

const compiled = result.contracts[sourceName][CONTRACT];
const artifact = {
  contractName: CONTRACT,
  source: { path: sourceName, sha256: createHash("sha256").update(source, "utf8").digest("hex") },
  compiler: { name: "solc-js", version: solc.version() },
  settings: { evmVersion: settings.evmVersion, optimizer: settings.optimizer, metadata: settings.metadata },
  abi: compiled.abi,
  bytecode: `0x${compiled.evm.bytecode.object}`,
  deployedBytecode: `0x${compiled.evm.deployedBytecode.object}`,
};
writeFileSync(output, `${JSON.stringify(artifact, null, 2)}\n`);
process.stdout.write(`wrote ${relative(process.cwd(), output) || output}\n`);
