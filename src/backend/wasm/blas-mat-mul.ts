/**
 * BatchMatMul for the wasm backend as OpenBLAS sgemm calls on the wasm heap. Transposed operands go to
 * sgemm as its transpose flags, so nothing is copied. A batched `a` with a shared, untransposed layout
 * folds into the rows of one product; other batches run one product each.
 */
import * as tf from '@tensorflow/tfjs';
import type { NativeBlas } from '../native-blas.ts';
import { broadcastBatchIndex, matMulShapes } from './batch-mat-mul.ts';
import { type KernelArguments, type WasmBackend, heapIndexOf, makeZeroOutput, wholeHeapOf } from './heap.ts';

/**
 * BatchMatMul: a [...batchA, rows, inner] (or [..., inner, rows] with transposeA) and b [...batchB,
 * inner, columns] (or [..., columns, inner] with transposeB) give [...broadcast(batchA, batchB), rows,
 * columns]. Returns null for tensors other than float32, which the caller runs on its fallback kernel.
 */
export function batchMatMulWithBlas(blas: NativeBlas, { inputs, backend: kernelBackend, attrs = {} }: KernelArguments): tf.TensorInfo | null {
  const backend = kernelBackend as WasmBackend;
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;

  const { rows, inner, columns, aBatchShape, bBatchShape, batchShape, outputShape } = matMulShapes(a, b, transposeA, transposeB);
  if (tf.util.sizeFromShape(outputShape) === 0 || inner === 0) {
    return makeZeroOutput(backend, outputShape, 'float32');
  }

  const output = backend.makeOutput(outputShape, 'float32');
  // makeOutput may grow the heap, so the view is taken after it.
  const heap = wholeHeapOf(backend, 'float32') as Float32Array;
  const aStart = heapIndexOf(backend, a);
  const bStart = heapIndexOf(backend, b);
  const outputStart = heapIndexOf(backend, output);
  const lda = transposeA ? rows : inner;
  const ldb = transposeB ? inner : columns;
  const aBatch = tf.util.sizeFromShape(aBatchShape);
  const bBatch = tf.util.sizeFromShape(bBatchShape);

  if (bBatch === 1 && !transposeA) {
    // Untransposed batches of a lie one after the other, so they are the rows of one product.
    blas.sgemm(false, transposeB, aBatch * rows, columns, inner, 1, heap.subarray(aStart), lda,
      heap.subarray(bStart), ldb, 0, heap.subarray(outputStart), columns);
    return output;
  }

  const outputBatch = tf.util.sizeFromShape(batchShape);
  const outputIndex = new Array<number>(batchShape.length).fill(0);
  for (let batch = 0; batch < outputBatch; batch++) {
    const aOffset = aStart + broadcastBatchIndex(outputIndex, aBatchShape) * rows * inner;
    const bOffset = bStart + broadcastBatchIndex(outputIndex, bBatchShape) * inner * columns;
    const outputOffset = outputStart + batch * rows * columns;
    blas.sgemm(transposeA, transposeB, rows, columns, inner, 1, heap.subarray(aOffset), lda,
      heap.subarray(bOffset), ldb, 0, heap.subarray(outputOffset), columns);

    for (let axis = outputIndex.length - 1; axis >= 0; axis--) {
      outputIndex[axis]++;
      if (outputIndex[axis] < batchShape[axis]) break;
      outputIndex[axis] = 0;
    }
  }
  return output;
}
