// Independent Modbus TCP device (npm modbus-serial ServerTCP) used by trustfloor's interop tests.
// Usage: node modbus_serial_server.mjs '<json device>'; prints {"port": N} once listening, then
// serves until stdin closes or SIGTERM. Values are encoded here with Node's Buffer, not by
// trustfloor's codec, so a test reading them back checks both implementations against each other.
// Device: {unitId, fields: [{table: "holding"|"input", address, type, value, byteOrder, wordOrder,
//          length (string registers), encoding, bit}], coils: {addr: bool}, discreteInputs: {...}}
// Types: bool (with bit), int16, uint16, int32, uint32, int64, uint64 (value as a decimal
// string), float32, float64, string. Any address not given answers exception 2 (illegal address).
import net from "node:net";
import ModbusRTU from "modbus-serial";

const device = JSON.parse(process.argv[2]);

const WRITERS = {
  int16: (b, v) => b.writeInt16BE(v),
  uint16: (b, v) => b.writeUInt16BE(v),
  int32: (b, v) => b.writeInt32BE(v),
  uint32: (b, v) => b.writeUInt32BE(v),
  int64: (b, v) => b.writeBigInt64BE(BigInt(v)),
  uint64: (b, v) => b.writeBigUInt64BE(BigInt(v)),
  float32: (b, v) => b.writeFloatBE(v),
  float64: (b, v) => b.writeDoubleBE(v),
};
const SIZES = { int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, uint64: 8, float32: 4, float64: 8 };

// The field's value as big-endian bytes (Modbus Application Protocol v1.1b3 §4.2 order).
function bigEndianBytes(field) {
  if (field.type === "string") {
    const text = Buffer.from(field.value, field.encoding ?? "ascii");
    const out = Buffer.alloc(2 * field.length, 0);
    text.copy(out);
    return out;
  }
  if (field.type === "bool") {
    const out = Buffer.alloc(2);
    out.writeUInt16BE(field.value ? 1 << (field.bit ?? 0) : 0);
    return out;
  }
  const out = Buffer.alloc(SIZES[field.type]);
  WRITERS[field.type](out, field.value);
  return out;
}

// Registers of a field: words low-first when wordOrder is little, bytes swapped when byteOrder is.
function registersOf(field) {
  const bytes = bigEndianBytes(field);
  const words = [];
  for (let i = 0; i < bytes.length; i += 2) {
    const [high, low] = [bytes[i], bytes[i + 1]];
    words.push(field.byteOrder === "little" ? (low << 8) | high : (high << 8) | low);
  }
  return field.wordOrder === "little" ? words.reverse() : words;
}

const tables = { holding: new Map(), input: new Map() };
for (const field of device.fields ?? []) {
  const table = tables[field.table];
  registersOf(field).forEach((word, i) => {
    const address = field.address + i;
    // bits of one register: several bool fields share it
    table.set(address, (field.type === "bool" ? table.get(address) ?? 0 : 0) | word);
  });
}
const bits = {
  coil: new Map(Object.entries(device.coils ?? {}).map(([a, v]) => [Number(a), v])),
  discrete: new Map(Object.entries(device.discreteInputs ?? {}).map(([a, v]) => [Number(a), v])),
};

function lookup(map, address) {
  if (!map.has(address)) {
    throw { modbusErrorCode: 0x02, msg: `illegal data address ${address}` };
  }
  return map.get(address);
}

const vector = {
  getHoldingRegister: (address, _unit) => lookup(tables.holding, address),
  getInputRegister: (address, _unit) => lookup(tables.input, address),
  getCoil: (address, _unit) => lookup(bits.coil, address),
  getDiscreteInput: (address, _unit) => lookup(bits.discrete, address),
};

// modbus-serial treats port 0 as "use 502", so reserve a free port first.
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen({ port: 0, host: "127.0.0.1" }, () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

const port = await freePort();
const server = new ModbusRTU.ServerTCP(vector, { host: "127.0.0.1", port, unitID: device.unitId ?? 255 });
server.on("serverError", (error) => {
  console.error(String(error));
  process.exit(1);
});
server.on("initialized", () => console.log(JSON.stringify({ port })));

function stop() {
  for (const socket of server.socks.keys()) socket.destroy();
  server.close(() => process.exit(0));
}
process.on("SIGTERM", stop);
process.stdin.on("end", stop);
process.stdin.resume();
