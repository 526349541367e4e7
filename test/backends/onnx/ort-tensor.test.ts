import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { datatypeOf, fromOrtTensor, ortTypeOf, specShape, toOrtTensor, transferables } from '../../../src/backends/onnx/ort-tensor.ts';
import { GatewayError } from '../../../src/errors.ts';
import { datatypes, type Datatype } from '../../../src/tensors/datatype.ts';
import type { Tensor } from '../../../src/tensors/tensor.ts';

const Ctor = ort.Tensor as unknown as Parameters<typeof toOrtTensor>[0];
const enc = new TextEncoder();

function roundTrip(t: Tensor): Tensor {
  return fromOrtTensor(t.name, toOrtTensor(Ctor, t));
}

function values(t: Tensor): unknown[] {
  return Array.isArray(t.data) ? t.data.map((b) => Array.from(b)) : Array.from(t.data as ArrayLike<unknown>);
}

const big = 2n ** 53n + 1n; // not representable as a double

const samples: Record<Datatype, Tensor> = {
  BOOL: { name: 'b', datatype: 'BOOL', shape: [2, 2], data: Uint8Array.of(1, 0, 0, 1) },
  UINT8: { name: 'u8', datatype: 'UINT8', shape: [3], data: Uint8Array.of(0, 128, 255) },
  UINT16: { name: 'u16', datatype: 'UINT16', shape: [1, 2], data: Uint16Array.of(0, 65535) },
  UINT32: { name: 'u32', datatype: 'UINT32', shape: [2], data: Uint32Array.of(1, 4294967295) },
  UINT64: { name: 'u64', datatype: 'UINT64', shape: [2], data: BigUint64Array.of(2n ** 64n - 1n, big) },
  INT8: { name: 'i8', datatype: 'INT8', shape: [2], data: Int8Array.of(-128, 127) },
  INT16: { name: 'i16', datatype: 'INT16', shape: [2], data: Int16Array.of(-32768, 32767) },
  INT32: { name: 'i32', datatype: 'INT32', shape: [2, 1], data: Int32Array.of(-2147483648, 2147483647) },
  INT64: { name: 'i64', datatype: 'INT64', shape: [3], data: BigInt64Array.of(big, -big, 9223372036854775807n) },
  FP16: { name: 'h', datatype: 'FP16', shape: [3], data: Uint16Array.of(0x3c00, 0xc000, 0x7bff) }, // 1, -2, 65504 as half bits
  FP32: { name: 'f', datatype: 'FP32', shape: [1, 3], data: Float32Array.of(1.5, -0, 3.4e38) },
  FP64: { name: 'd', datatype: 'FP64', shape: [2], data: Float64Array.of(Math.PI, -1e-300) },
  BYTES: { name: 's', datatype: 'BYTES', shape: [2, 1], data: [enc.encode('héllo'), enc.encode('')] },
};

describe('datatype names', () => {
  it('maps every KServe datatype to an onnxruntime type and back', () => {
    for (const d of datatypes) {
      assert.equal(datatypeOf(ortTypeOf(d)), d, d);
    }
    assert.equal(ortTypeOf('FP32'), 'float32');
    assert.equal(ortTypeOf('FP16'), 'float16');
    assert.equal(ortTypeOf('INT64'), 'int64');
    assert.equal(ortTypeOf('BOOL'), 'bool');
    assert.equal(ortTypeOf('BYTES'), 'string');
  });

  it('has no datatype for runtime types the gateway cannot represent', () => {
    for (const t of ['int4', 'uint4', 'bfloat16', 'float8e4m3fn', 'complex64', '', 'FP32']) {
      assert.equal(datatypeOf(t), undefined, t);
    }
  });
});

describe('specShape', () => {
  it('keeps fixed dims and turns symbolic or negative dims into -1', () => {
    assert.deepEqual(specShape([1, 4]), [1, 4]);
    assert.deepEqual(specShape(['batch', 4]), [-1, 4]);
    assert.deepEqual(specShape([-1, 'n', 0, 3]), [-1, -1, 0, 3]);
    assert.deepEqual(specShape([]), []);
  });
});

describe('toOrtTensor / fromOrtTensor', () => {
  for (const d of datatypes) {
    it(`round-trips ${d} with its shape and values`, () => {
      const t = samples[d];
      const ortT = toOrtTensor(Ctor, t);
      assert.equal(ortT.type, ortTypeOf(d));
      assert.deepEqual([...ortT.dims], t.shape);
      const back = fromOrtTensor(t.name, ortT);
      assert.equal(back.name, t.name);
      assert.equal(back.datatype, d);
      assert.deepEqual(back.shape, t.shape);
      assert.equal(Object.getPrototypeOf(back.data), Object.getPrototypeOf(t.data), `${d} storage class`);
      assert.deepEqual(values(back), values(t));
    });
  }

  it('keeps INT64 and UINT64 beyond 2^53 exactly', () => {
    const back = roundTrip(samples.INT64);
    assert.equal((back.data as BigInt64Array)[0], 9007199254740993n);
    assert.equal((back.data as BigInt64Array)[1], -9007199254740993n);
    assert.equal((back.data as BigInt64Array)[2], 2n ** 63n - 1n);
    assert.equal((roundTrip(samples.UINT64).data as BigUint64Array)[0], 2n ** 64n - 1n);
  });

  it('gives BYTES to the runtime as strings and back as UTF-8 bytes', () => {
    const ortT = toOrtTensor(Ctor, samples.BYTES);
    assert.deepEqual(ortT.data, ['héllo', '']);
    const back = fromOrtTensor('out', new ort.Tensor('string', ['a', 'ß', '日本'], [3]));
    assert.deepEqual(back.shape, [3]);
    assert.deepEqual((back.data as Uint8Array[]).map((b) => new TextDecoder().decode(b)), ['a', 'ß', '日本']);
  });

  it('refuses BYTES elements that are not UTF-8 with bad_tensor naming the input and element', () => {
    const t: Tensor = { name: 'text', datatype: 'BYTES', shape: [2], data: [enc.encode('ok'), Uint8Array.of(0xff, 0xfe)] };
    assert.throws(() => toOrtTensor(Ctor, t), (e: unknown) => e instanceof GatewayError && e.code === 'bad_tensor' && e.status === 400
      && /input "text": element 1 is not valid UTF-8/.test(e.message));
  });

  it('gives FP16 back as raw half bits in a Uint16Array, also from a Float16Array', () => {
    const ortT = toOrtTensor(Ctor, samples.FP16);
    // on the main thread onnxruntime-common wraps half data in Float16Array where the global exists
    assert.ok(['Float16Array', 'Uint16Array'].includes((ortT.data as object).constructor.name));
    const back = fromOrtTensor('h', ortT);
    assert.ok(back.data instanceof Uint16Array);
    assert.deepEqual(Array.from(back.data as Uint16Array), [0x3c00, 0xc000, 0x7bff]);
  });

  it('refuses an output type the gateway cannot represent with backend_bad_reply', () => {
    const int4 = new ort.Tensor('int4', new Uint8Array(2), [4]);
    assert.throws(() => fromOrtTensor('q', int4), (e: unknown) => e instanceof GatewayError && e.code === 'backend_bad_reply' && e.status === 502
      && /output "q" has type int4, which the gateway cannot represent/.test(e.message));
  });

  it('refuses a datatype it does not know instead of building a tensor', () => {
    const bogus = { name: 'x', datatype: 'FP8', shape: [2], data: Uint8Array.of(1, 2) } as unknown as Tensor;
    assert.throws(() => toOrtTensor(Ctor, bogus));
  });

  it('refuses data that does not fill the shape', () => {
    assert.throws(() => toOrtTensor(Ctor, { name: 'x', datatype: 'FP32', shape: [3], data: Float32Array.of(1, 2) }), /size|length/);
  });

  it('builds numeric runtime tensors over the caller storage without copying', () => {
    const t = samples.FP32;
    assert.equal(toOrtTensor(Ctor, t).data, t.data);
  });

  it('copies an output that is a view into a larger buffer, so the result owns exactly its bytes', () => {
    const shared = new Float32Array([9, 1, 2, 3, 9]);
    const view = new Float32Array(shared.buffer, 4, 3);
    const back = fromOrtTensor('v', new ort.Tensor('float32', view, [3]));
    assert.deepEqual(Array.from(back.data as Float32Array), [1, 2, 3]);
    const data = back.data as Float32Array;
    assert.equal(data.byteOffset, 0);
    assert.equal(data.buffer.byteLength, 12);
    shared[1] = 42;
    assert.equal(data[0], 1);
  });
});

describe('transferables', () => {
  it('lists whole-buffer numeric storage once, never BYTES or views of a larger buffer', () => {
    const owned = new Float32Array(4);
    const slice = new Uint8Array(new ArrayBuffer(16), 4, 4);
    const pooled = Buffer.from('abcdefgh').subarray(0, 4);
    const list = transferables([
      { name: 'a', datatype: 'FP32', shape: [4], data: owned },
      { name: 'b', datatype: 'FP32', shape: [4], data: owned },
      { name: 'c', datatype: 'UINT8', shape: [4], data: slice },
      { name: 'd', datatype: 'UINT8', shape: [4], data: pooled },
      { name: 'e', datatype: 'BYTES', shape: [1], data: [new Uint8Array(3)] },
      { name: 'f', datatype: 'INT64', shape: [1], data: new BigInt64Array(1) },
    ]);
    assert.equal(list.length, 2);
    assert.equal(list[0], owned.buffer);
    assert.ok(list.every((b) => b instanceof ArrayBuffer));
    assert.equal(list[1]!.byteLength, 8);
  });

  it('lists nothing for no tensors', () => {
    assert.deepEqual(transferables([]), []);
  });
});
