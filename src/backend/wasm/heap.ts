/**
 * Helpers for the project's wasm kernels: tensor data in the wasm heap, the registered wasm kernels, and
 * tensors that alias part of another tensor's memory. They rely on internals of
 * @tensorflow/tfjs-backend-wasm 4.22.0 that are not public API (backend.dataIdMap, backend.makeOutput
 * with a memory offset, wasm.HEAPU8, wasm.tfjs.disposeData and the C++ BatchMatMul signature).
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export type WasmBackend = BackendWasm;

/** The argument of a tfjs kernel function: inputs, backend and attributes. */
export type KernelArguments = Parameters<tf.KernelFunc>[0];

/** The parts of the Emscripten module that the kernels use. */
interface WasmModule {
  cwrap(name: string, returnType: null, argumentTypes: string[]): (...args: unknown[]) => void;
  tfjs: {
    disposeData(id: number): void;
  };
}

/** Returns the backend's Emscripten module, typed as far as the kernels use it. */
export function wasmModuleOf(backend: WasmBackend): WasmModule {
  return backend.wasm as unknown as WasmModule;
}

/** Returns the backend's internal id of a tensor, which the C++ kernels take as argument. */
export function tensorIdOf(backend: WasmBackend, info: tf.TensorInfo): number {
  return backend.dataIdMap.get(info.dataId).id;
}

/** Returns the byte offset of a tensor's data in the wasm heap. */
export function memoryOffsetOf(backend: WasmBackend, info: tf.TensorInfo): number {
  return backend.dataIdMap.get(info.dataId).memoryOffset;
}

/**
 * Returns a Float32Array over a float32 tensor's data in the wasm heap, without a copy. Allocating
 * another tensor can grow the heap, which detaches this view, so take views after the last allocation.
 */
export function float32Heap(backend: WasmBackend, info: tf.TensorInfo): Float32Array {
  if (info.dtype !== 'float32') throw new Error(`Expected a float32 tensor, got ${info.dtype}.`);
  return backend.typedArrayFromHeap(info) as Float32Array;
}

/** Returns an Int32Array over an int32 tensor's data in the wasm heap; see float32Heap for its lifetime. */
export function int32Heap(backend: WasmBackend, info: tf.TensorInfo): Int32Array {
  if (info.dtype !== 'int32') throw new Error(`Expected an int32 tensor, got ${info.dtype}.`);
  return backend.typedArrayFromHeap(info) as Int32Array;
}

/** Allocates an output tensor in the wasm heap whose elements are all zero (makeOutput leaves them undefined). */
export function makeZeroOutput(backend: WasmBackend, shape: number[], dtype: tf.DataType): tf.TensorInfo {
  const output = backend.makeOutput(shape, dtype);
  const size = tf.util.sizeFromShape(shape);
  if (size > 0) (backend.typedArrayFromHeap(output) as Float32Array | Int32Array).fill(0);
  return output;
}

/**
 * Runs the wasm backend's kernel registered under `kernelName` on tensors of that backend. Used to build
 * the project's kernels out of stock ones (Conv2D, Transpose, Add).
 */
export function runWasmKernel(
  kernelName: string,
  backend: WasmBackend,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap = {},
): tf.TensorInfo {
  const config = tf.getKernel(kernelName, 'wasm');
  if (config == null) throw new Error(`The wasm backend has no kernel ${kernelName}.`);
  return config.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo;
}

/** Disposes intermediate tensors of the wasm backend. */
export function disposeIntermediates(backend: WasmBackend, ...infos: tf.TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/**
 * Registers a tensor that aliases `shape` elements of `source` starting at element `elementOffset`, so
 * that a C++ kernel can read or write part of a tensor without a copy. Release it with releaseHeapView,
 * never with disposeData, which would free memory that `source` owns.
 */
export function createHeapView(
  backend: WasmBackend,
  source: tf.TensorInfo,
  elementOffset: number,
  shape: number[],
): tf.TensorInfo {
  const bytesPerElement = tf.util.bytesPerElement(source.dtype);
  const byteOffset = memoryOffsetOf(backend, source) + elementOffset * bytesPerElement;
  return backend.makeOutput(shape, source.dtype, byteOffset);
}

/**
 * Unregisters a view made by createHeapView without freeing its memory. The C++ side runs the tensor's
 * disposal callbacks, which delete any XNNPACK operator cached for it.
 */
export function releaseHeapView(backend: WasmBackend, view: tf.TensorInfo): void {
  const id = tensorIdOf(backend, view);
  wasmModuleOf(backend).tfjs.disposeData(id);
  backend.dataIdMap.delete(view.dataId);
}

/** Returns a typed array over the whole wasm heap whose element size matches `dtype` (float32, int32 or bool). */
export function wholeHeapOf(backend: WasmBackend, dtype: tf.DataType): Float32Array | Int32Array | Uint8Array {
  const buffer = (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer;
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer);
    case 'int32':
      return new Int32Array(buffer);
    case 'bool':
      return new Uint8Array(buffer);
    default:
      throw new Error(`Unsupported dtype ${dtype}: the wasm heap stores only float32, int32 and bool tensors.`);
  }
}

/** Returns the index of a tensor's first element in the array that wholeHeapOf returns for its dtype. */
export function heapIndexOf(backend: WasmBackend, info: tf.TensorInfo): number {
  return memoryOffsetOf(backend, info) / tf.util.bytesPerElement(info.dtype);
}

/**
 * Copies the box `begin`..`begin + size` of a row-major array of shape `shape`, stored in `heap` from
 * index `sourceStart`, to `heap` from index `targetStart`, stored contiguously. Trailing axes that the box
 * covers whole merge into one contiguous run, so each run is a single copyWithin call (a memmove, with no
 * allocation).
 */
export function copyBox(
  heap: Float32Array | Int32Array | Uint8Array,
  sourceStart: number,
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
  targetStart: number,
): void {
  const rank = shape.length;
  if (size.some((length) => length === 0)) return;
  if (rank === 0) {
    heap.copyWithin(targetStart, sourceStart, sourceStart + 1);
    return;
  }
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let axis = rank - 2; axis >= 0; axis--) strides[axis] = strides[axis + 1] * shape[axis + 1];

  // The innermost axis that the box does not cover whole, with all axes after it, forms one run.
  let runAxis = rank - 1;
  while (runAxis > 0 && begin[runAxis] === 0 && size[runAxis] === shape[runAxis]) runAxis--;
  const runLength = size[runAxis] * strides[runAxis];

  const counters = new Array<number>(runAxis).fill(0);
  let target = targetStart;
  for (;;) {
    let start = sourceStart + begin[runAxis] * strides[runAxis];
    for (let axis = 0; axis < runAxis; axis++) start += (begin[axis] + counters[axis]) * strides[axis];
    heap.copyWithin(target, start, start + runLength);
    target += runLength;

    let axis = runAxis - 1;
    while (axis >= 0) {
      counters[axis]++;
      if (counters[axis] < size[axis]) break;
      counters[axis] = 0;
      axis--;
    }
    if (axis < 0) break;
  }
}
