/**
 * Writes safetensors files for tests: an 8-byte little-endian header length, the JSON header, then each
 * tensor's little-endian bytes in the order given.
 */

/** One tensor to write. `values` are encoded as `dtype`; `raw` bytes, when given, are written instead. */
export interface TensorToWrite {
  name: string;
  dtype: 'F32' | 'F16' | 'BF16' | 'I64';
  shape: number[];
  values?: ArrayLike<number>;
  raw?: Uint8Array;
}

const ELEMENT_BYTES = { F32: 4, F16: 2, BF16: 2, I64: 8 } as const;

/** Encode `tensors` as a safetensors file, with `metadata` as its `__metadata__` when given. */
export function encodeSafetensors(tensors: TensorToWrite[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const tensor of tensors) {
    const bytes = tensor.raw ?? encodeValues(tensor);
    header[tensor.name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const file = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(file.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  file.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const chunk of chunks) {
    file.set(chunk, position);
    position += chunk.length;
  }
  return file;
}

function encodeValues(tensor: TensorToWrite): Uint8Array {
  const values = tensor.values ?? new Float32Array(tensor.shape.reduce((a, b) => a * b, 1));
  const size = ELEMENT_BYTES[tensor.dtype];
  const bytes = new Uint8Array(values.length * size);
  const view = new DataView(bytes.buffer);
  const word = new DataView(new ArrayBuffer(4));
  for (let i = 0; i < values.length; i++) {
    switch (tensor.dtype) {
      case 'F32':
        view.setFloat32(i * size, values[i], true);
        break;
      case 'BF16':
        // Truncate a float32 to its upper 16 bits; the test values are exact in bfloat16.
        word.setFloat32(0, values[i]);
        view.setUint16(i * size, word.getUint32(0) >>> 16, true);
        break;
      case 'F16':
        view.setUint16(i * size, floatToHalf(values[i]), true);
        break;
      case 'I64':
        view.setBigInt64(i * size, BigInt(Math.trunc(values[i])), true);
        break;
    }
  }
  return bytes;
}

/** Encode a number that binary16 represents exactly: zero, or a normal number of at most 11 significant bits. */
function floatToHalf(value: number): number {
  if (value === 0) return Object.is(value, -0) ? 0x8000 : 0;
  const sign = value < 0 ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  const exponent = Math.floor(Math.log2(magnitude));
  const fraction = Math.round((magnitude / 2 ** exponent - 1) * 1024);
  return sign | ((exponent + 15) << 10) | fraction;
}
