/**
 * BatchMatMul for the wasm backend that always reaches XNNPACK. The stock kernel of
 * @tensorflow/tfjs-backend-wasm 4.22.0 uses XNNPACK's fully connected operator only when neither operand
 * is transposed and both have a batch of 1. Every other case, which includes both matMul gradients of a
 * dense layer, runs a scalar C++ loop. The XNNPACK path also caches its operator (with `b` packed) under
 * b's tensor id alone. A reshape shares the data and so the id, so a later product with b in its new
 * shape silently reuses the operator of the old shape and returns wrong values.
 *
 * This kernel transposes operands explicitly with the wasm Transpose kernel and folds a batched `a` into
 * the rows of one product when `b` is shared. Otherwise it runs one XNNPACK product per batch on views
 * into the operands, without copies. Whenever b's data was packed in another shape before, XNNPACK gets
 * a fresh view of b.
 */
import * as tf from '@tensorflow/tfjs';
import {
  type KernelArguments,
  type WasmBackend,
  createHeapView,
  disposeIntermediates,
  makeZeroOutput,
  releaseHeapView,
  runWasmKernel,
  tensorIdOf,
  wasmModuleOf,
} from './heap.ts';

/** The C++ BatchMatMul entry point: (aId, aShape, aRank, bId, bShape, bRank, transposeA, transposeB, outId). */
type WasmBatchMatMul = (...args: unknown[]) => void;

/** The cwrapped C++ function per wasm module; the module exists only once the backend is initialised. */
const batchMatMulFunctions = new WeakMap<object, WasmBatchMatMul>();

function wasmBatchMatMulOf(backend: WasmBackend): WasmBatchMatMul {
  let batchMatMul = batchMatMulFunctions.get(backend.wasm);
  if (batchMatMul == null) {
    const argumentTypes = ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number'];
    batchMatMul = wasmModuleOf(backend).cwrap('BatchMatMul', null, argumentTypes);
    batchMatMulFunctions.set(backend.wasm, batchMatMul);
  }
  return batchMatMul;
}

function shapeBytes(shape: number[]): Uint8Array {
  return new Uint8Array(new Int32Array(shape).buffer);
}

/**
 * Runs XNNPACK's fully connected operator: out [rows, columns] = a [rows, inner] x b [inner, columns].
 * All three are contiguous float32 tensors of the wasm backend (or views). XNNPACK packs `b` into an
 * operator that the C++ side caches on b's tensor id until that tensor is disposed.
 */
function multiplyOnXnnpack(
  backend: WasmBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  output: tf.TensorInfo,
  rows: number,
  inner: number,
  columns: number,
): void {
  const batchMatMul = wasmBatchMatMulOf(backend);
  const aShape = shapeBytes([1, rows, inner]);
  const bShape = shapeBytes([1, inner, columns]);
  batchMatMul(tensorIdOf(backend, a), aShape, 3, tensorIdOf(backend, b), bShape, 3, 0, 0, tensorIdOf(backend, output));
}

/**
 * The [inner, columns] shape in which XNNPACK last packed each tensor data as `b`, keyed by dataId so
 * that entries vanish with their tensors.
 */
const packedShapes = new WeakMap<object, string>();

/**
 * Runs multiplyOnXnnpack with `b` as the weights. When b's data was packed in another shape before,
 * XNNPACK would reuse that stale operator, so b goes in as a fresh view, whose operator is deleted with it.
 */
function multiplyByWeights(
  backend: WasmBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  output: tf.TensorInfo,
  rows: number,
  inner: number,
  columns: number,
): void {
  const shapeKey = `${inner}x${columns}`;
  const packedShape = packedShapes.get(b.dataId);
  if (packedShape === undefined || packedShape === shapeKey) {
    packedShapes.set(b.dataId, shapeKey);
    multiplyOnXnnpack(backend, a, b, output, rows, inner, columns);
    return;
  }
  const view = createHeapView(backend, b, 0, [1, inner, columns]);
  multiplyOnXnnpack(backend, a, view, output, rows, inner, columns);
  releaseHeapView(backend, view);
}

/** Returns the flat batch index into `shape` (right-aligned, size-1 axes broadcast) of `outputIndex`. */
export function broadcastBatchIndex(outputIndex: number[], shape: number[]): number {
  const offset = outputIndex.length - shape.length;
  let flat = 0;
  for (let axis = 0; axis < shape.length; axis++) {
    const position = shape[axis] === 1 ? 0 : outputIndex[axis + offset];
    flat = flat * shape[axis] + position;
  }
  return flat;
}

/** Computes the shapes of a BatchMatMul of `a` and `b`, and throws when their inner sizes differ, as tfjs does. */
export function matMulShapes(a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean) {
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  const rows = transposeA ? a.shape[aRank - 1] : a.shape[aRank - 2];
  const innerA = transposeA ? a.shape[aRank - 2] : a.shape[aRank - 1];
  const innerB = transposeB ? b.shape[bRank - 1] : b.shape[bRank - 2];
  const columns = transposeB ? b.shape[bRank - 2] : b.shape[bRank - 1];
  if (innerA !== innerB) {
    throw new Error(
      `Error in matMul: inner shapes (${innerA}) and (${innerB}) of tensors with shapes ${a.shape} and ` +
        `${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
  }
  const inner = innerA;
  const aBatchShape = a.shape.slice(0, -2);
  const bBatchShape = b.shape.slice(0, -2);
  const batchShape = tf.broadcast_util.assertAndGetBroadcastShape(aBatchShape, bBatchShape);
  const outputShape = [...batchShape, rows, columns];
  return { rows, inner, columns, aBatchShape, bBatchShape, batchShape, outputShape };
}

/**
 * BatchMatMul: a [...batchA, rows, inner] (or [..., inner, rows] with transposeA) and b [...batchB,
 * inner, columns] (or [..., columns, inner] with transposeB) give [...broadcast(batchA, batchB), rows,
 * columns].
 */
function batchMatMul({ inputs, backend: kernelBackend, attrs = {} }: KernelArguments): tf.TensorInfo {
  const backend = kernelBackend as WasmBackend;
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new Error(`The wasm BatchMatMul kernel supports only float32 tensors, got ${a.dtype} and ${b.dtype}.`);
  }

  const { rows, inner, columns, aBatchShape, bBatchShape, batchShape, outputShape } = matMulShapes(a, b, transposeA, transposeB);
  const aBatch = tf.util.sizeFromShape(aBatchShape);
  const bBatch = tf.util.sizeFromShape(bBatchShape);
  const outputBatch = tf.util.sizeFromShape(batchShape);

  if (tf.util.sizeFromShape(outputShape) === 0 || inner === 0) {
    return makeZeroOutput(backend, outputShape, 'float32');
  }

  // Make both operands untransposed: a as [aBatch, rows, inner] and b as [bBatch, inner, columns].
  const intermediates: tf.TensorInfo[] = [];
  let aMatrix: tf.TensorInfo = { dataId: a.dataId, shape: [aBatch, rows, inner], dtype: a.dtype };
  if (transposeA) {
    const stored = { dataId: a.dataId, shape: [aBatch, inner, rows], dtype: a.dtype };
    aMatrix = runWasmKernel('Transpose', backend, { x: stored }, { perm: [0, 2, 1] });
    intermediates.push(aMatrix);
  }
  let bMatrix: tf.TensorInfo = { dataId: b.dataId, shape: [bBatch, inner, columns], dtype: b.dtype };
  if (transposeB) {
    const stored = { dataId: b.dataId, shape: [bBatch, columns, inner], dtype: b.dtype };
    bMatrix = runWasmKernel('Transpose', backend, { x: stored }, { perm: [0, 2, 1] });
    intermediates.push(bMatrix);
  }

  const output = backend.makeOutput(outputShape, 'float32');
  if (bBatch === 1) {
    // b is shared by every batch, so the batches of a are just more rows of one product.
    multiplyByWeights(backend, aMatrix, bMatrix, output, aBatch * rows, inner, columns);
    disposeIntermediates(backend, ...intermediates);
    return output;
  }

  // One product per output batch, on views into a, b and the output.
  const bViews = new Map<number, tf.TensorInfo>();
  const outputIndex = new Array<number>(batchShape.length).fill(0);
  for (let batch = 0; batch < outputBatch; batch++) {
    const aIndex = broadcastBatchIndex(outputIndex, aBatchShape);
    const bIndex = broadcastBatchIndex(outputIndex, bBatchShape);
    let bView = bViews.get(bIndex);
    if (bView == null) {
      bView = createHeapView(backend, bMatrix, bIndex * inner * columns, [1, inner, columns]);
      bViews.set(bIndex, bView);
    }
    const aView = createHeapView(backend, aMatrix, aIndex * rows * inner, [1, rows, inner]);
    const outputView = createHeapView(backend, output, batch * rows * columns, [1, rows, columns]);
    multiplyOnXnnpack(backend, aView, bView, outputView, rows, inner, columns);
    releaseHeapView(backend, aView);
    releaseHeapView(backend, outputView);

    for (let axis = outputIndex.length - 1; axis >= 0; axis--) {
      outputIndex[axis]++;
      if (outputIndex[axis] < batchShape[axis]) break;
      outputIndex[axis] = 0;
    }
  }
  for (const view of bViews.values()) releaseHeapView(backend, view);
  disposeIntermediates(backend, ...intermediates);
  return output;
}

export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: tf.BatchMatMul,
  backendName: 'wasm',
  kernelFunc: batchMatMul,
};
