// otlp-protobuf.ts (test support) — reads a binary protobuf ExportTraceServiceRequest into the
// OTLP/JSON mapping of the same message (lowerCamelCase names, ids as hex, enums as integers,
// 64-bit integers as decimal strings), so fake-otlp.ts checks both encodings one way. Written
// from the protobuf wire format (https://protobuf.dev/programming-guides/encoding/) and the field
// numbers of opentelemetry-proto's trace.proto, common.proto and resource.proto.

type Json = Record<string, unknown>;

interface WireField { no: number; type: number; varint?: bigint; bytes?: Buffer; fixed?: Buffer }

// fieldsOf splits a message into its fields, in order.
function fieldsOf(buf: Buffer): WireField[] {
  const out: WireField[] = [];
  let at = 0;
  const varint = (): bigint => {
    let value = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (at >= buf.length) throw new Error('protobuf: a varint runs past the end');
      const b = buf[at++]!;
      value |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return value;
      if (shift > 63n) throw new Error('protobuf: a varint longer than 10 bytes');
    }
  };
  const take = (n: number): Buffer => {
    if (at + n > buf.length) throw new Error('protobuf: a field runs past the end');
    const b = buf.subarray(at, at + n);
    at += n;
    return b;
  };
  while (at < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const type = key & 7;
    if (no === 0) throw new Error('protobuf: field number 0');
    if (type === 0) out.push({ no, type, varint: varint() });
    else if (type === 1) out.push({ no, type, fixed: take(8) });
    else if (type === 2) out.push({ no, type, bytes: take(Number(varint())) });
    else if (type === 5) out.push({ no, type, fixed: take(4) });
    else throw new Error(`protobuf: wire type ${type} (groups are not used by OTLP)`);
  }
  return out;
}

const text = (f: WireField): string => f.bytes!.toString('utf8');
const hex = (f: WireField): string => f.bytes!.toString('hex');
const all = (fields: WireField[], no: number): WireField[] => fields.filter((f) => f.no === no);
const one = (fields: WireField[], no: number): WireField | undefined => fields.findLast((f) => f.no === no);

function anyValue(buf: Buffer): Json {
  const f = fieldsOf(buf);
  const last = f[f.length - 1];
  if (last === undefined) return {};
  switch (last.no) {
    case 1: return { stringValue: text(last) };
    case 2: return { boolValue: last.varint !== 0n };
    case 3: return { intValue: BigInt.asIntN(64, last.varint!).toString() };
    case 4: return { doubleValue: last.fixed!.readDoubleLE(0) };
    case 5: return { arrayValue: { values: all(fieldsOf(last.bytes!), 1).map((v) => anyValue(v.bytes!)) } };
    case 6: return { kvlistValue: { values: all(fieldsOf(last.bytes!), 1).map((v) => keyValue(v.bytes!)) } };
    case 7: return { bytesValue: last.bytes!.toString('base64') };
    default: return {};
  }
}

function keyValue(buf: Buffer): Json {
  const f = fieldsOf(buf);
  const value = one(f, 2);
  return { key: one(f, 1) === undefined ? '' : text(one(f, 1)!), value: value === undefined ? {} : anyValue(value.bytes!) };
}

function span(buf: Buffer): Json {
  const f = fieldsOf(buf);
  const str = (no: number): string => (one(f, no) === undefined ? '' : text(one(f, no)!));
  const id = (no: number): string => (one(f, no) === undefined ? '' : hex(one(f, no)!));
  const nanos = (no: number): string => (one(f, no) === undefined ? '0' : one(f, no)!.fixed!.readBigUInt64LE(0).toString());
  const status = one(f, 15);
  const statusFields = status === undefined ? [] : fieldsOf(status.bytes!);
  return {
    traceId: id(1), spanId: id(2), traceState: str(3), parentSpanId: id(4), name: str(5),
    kind: Number(one(f, 6)?.varint ?? 0n),
    startTimeUnixNano: nanos(7), endTimeUnixNano: nanos(8),
    attributes: all(f, 9).map((a) => keyValue(a.bytes!)),
    links: all(f, 13).map((l) => {
      const lf = fieldsOf(l.bytes!);
      return { traceId: one(lf, 1) === undefined ? '' : hex(one(lf, 1)!), spanId: one(lf, 2) === undefined ? '' : hex(one(lf, 2)!) };
    }),
    status: {
      code: Number(one(statusFields, 3)?.varint ?? 0n),
      ...(one(statusFields, 2) === undefined ? {} : { message: text(one(statusFields, 2)!) }),
    },
  };
}

/** exportRequestOf reads a binary ExportTraceServiceRequest as its OTLP/JSON form. */
export function exportRequestOf(buf: Buffer): Json {
  return {
    resourceSpans: all(fieldsOf(buf), 1).map((rs) => {
      const f = fieldsOf(rs.bytes!);
      const resource = one(f, 1);
      return {
        resource: { attributes: resource === undefined ? [] : all(fieldsOf(resource.bytes!), 1).map((a) => keyValue(a.bytes!)) },
        scopeSpans: all(f, 2).map((ss) => {
          const sf = fieldsOf(ss.bytes!);
          const scope = one(sf, 1);
          const name = scope === undefined ? undefined : one(fieldsOf(scope.bytes!), 1);
          return { scope: { name: name === undefined ? '' : text(name) }, spans: all(sf, 2).map((s) => span(s.bytes!)) };
        }),
      };
    }),
  };
}
