/**
 * A reader for the safetensors format of Hugging Face (github.com/huggingface/safetensors). A file starts
 * with an unsigned 64-bit little-endian header length N. N bytes of UTF-8 JSON follow, mapping each tensor
 * name to `{ dtype, shape, data_offsets: [begin, end] }`, with an optional `__metadata__` object of
 * strings. The tensors' little-endian bytes come last, in row-major order, and the offsets count from the
 * first byte after the header. Every offset and size is checked against the file before it is used.
 */

/** Bytes per element of each dtype the format defines. */
const DTYPE_SIZES: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
};

/** The dtypes that `readFloat32` converts to float32. */
export const FLOAT_DTYPES = ['F32', 'F16', 'BF16'] as const;

/** A malformed safetensors file, or a tensor that cannot be read as float32. */
export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

/** One tensor of a safetensors file. */
export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** Byte offsets into the whole file: the data is bytes[begin, end). */
  begin: number;
  end: number;
}

/** A parsed safetensors file: its tensors by name, in header order, and its raw bytes. */
export interface SafetensorsFile {
  tensors: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  bytes: Uint8Array;
}

/** Parse the header of a safetensors file held in `bytes` and check every entry against the file size. */
export function parseSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (bytes.length < 8) throw new SafetensorsError(`the file has ${bytes.length} bytes, fewer than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - 8)) {
    throw new SafetensorsError(`the header length ${headerLength} exceeds the ${bytes.length - 8} bytes after it`);
  }
  const dataStart = 8 + Number(headerLength);
  const dataLength = bytes.length - dataStart;

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (error) {
    throw new SafetensorsError(`the header is not valid UTF-8 JSON: ${(error as Error).message}`);
  }
  if (!isRecord(header)) throw new SafetensorsError('the header is not a JSON object');

  const tensors = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isRecord(value) || !Object.values(value).every((v) => typeof v === 'string')) {
        throw new SafetensorsError('__metadata__ must be an object of strings');
      }
      metadata = value as Record<string, string>;
      continue;
    }
    tensors.set(name, parseEntry(name, value, dataStart, dataLength));
  }
  return { tensors, metadata, bytes };
}

function parseEntry(name: string, value: unknown, dataStart: number, dataLength: number): SafetensorsEntry {
  if (!isRecord(value)) throw new SafetensorsError(`tensor ${name}: the entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string') throw new SafetensorsError(`tensor ${name}: dtype is not a string`);
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw new SafetensorsError(`tensor ${name}: shape is not a list of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw new SafetensorsError(`tensor ${name}: data_offsets is not a pair of non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataLength) {
    throw new SafetensorsError(`tensor ${name}: data_offsets [${begin}, ${end}] lie outside the ${dataLength} data bytes`);
  }
  const elementSize = DTYPE_SIZES[dtype];
  const elements = (shape as number[]).reduce((a, b) => a * b, 1);
  if (elementSize !== undefined && end - begin !== elements * elementSize) {
    throw new SafetensorsError(
      `tensor ${name}: ${end - begin} data bytes do not match shape [${shape.join(', ')}] of ${dtype} (${elements * elementSize} bytes)`,
    );
  }
  return { name, dtype, shape: shape as number[], begin: dataStart + begin, end: dataStart + end };
}

/** Decode a tensor of dtype F32, F16 or BF16 to float32 values in row-major order. */
export function readFloat32(file: SafetensorsFile, entry: SafetensorsEntry): Float32Array {
  const view = new DataView(file.bytes.buffer, file.bytes.byteOffset + entry.begin, entry.end - entry.begin);
  const values = new Float32Array(entry.shape.reduce((a, b) => a * b, 1));
  switch (entry.dtype) {
    case 'F32':
      for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(4 * i, true);
      break;
    case 'F16':
      for (let i = 0; i < values.length; i++) values[i] = halfToFloat(view.getUint16(2 * i, true));
      break;
    case 'BF16': {
      // bfloat16 is the upper half of a float32.
      const word = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < values.length; i++) {
        word.setUint32(0, view.getUint16(2 * i, true) << 16);
        values[i] = word.getFloat32(0);
      }
      break;
    }
    default:
      throw new SafetensorsError(`tensor ${entry.name} has dtype ${entry.dtype}; supported: ${FLOAT_DTYPES.join(', ')}`);
  }
  return values;
}

/** IEEE 754 binary16 to a number: 1 sign bit, 5 exponent bits (bias 15), 10 fraction bits. */
function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
