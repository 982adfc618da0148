/**
 * UnsortedSegmentSum for the wasm backend, which @tensorflow/tfjs-backend-wasm 4.22.0 does not register.
 * tf.gather's gradient calls it, so without it tf.grads through an embedding lookup throws on wasm.
 */
import * as tf from '@tensorflow/tfjs';
import { type KernelArguments, type WasmBackend, makeZeroOutput } from './heap.ts';

/**
 * UnsortedSegmentSum: x [...segmentIds.shape, ...inner] and int32 segmentIds give [numSegments, ...inner],
 * where row s is the sum of the rows of x whose id is s. Ids outside [0, numSegments) are dropped, as in
 * TensorFlow.
 */
function unsortedSegmentSum({ inputs, backend: kernelBackend, attrs = {} }: KernelArguments): tf.TensorInfo {
  const backend = kernelBackend as WasmBackend;
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`The wasm UnsortedSegmentSum kernel supports float32 and int32 x, got ${x.dtype}.`);
  }
  if (segmentIds.dtype !== 'int32') {
    throw new Error(`UnsortedSegmentSum: segmentIds must be int32, got ${segmentIds.dtype}.`);
  }
  const idRank = segmentIds.shape.length;
  if (!tf.util.arraysEqual(x.shape.slice(0, idRank), segmentIds.shape)) {
    throw new Error(`UnsortedSegmentSum: segmentIds shape ${segmentIds.shape} must be a prefix of x shape ${x.shape}.`);
  }

  const innerShape = x.shape.slice(idRank);
  const innerSize = tf.util.sizeFromShape(innerShape);
  const rowCount = tf.util.sizeFromShape(segmentIds.shape);
  const output = makeZeroOutput(backend, [numSegments, ...innerShape], x.dtype);
  if (rowCount === 0 || innerSize === 0) return output;

  const values = backend.typedArrayFromHeap(x) as Float32Array | Int32Array;
  const ids = backend.typedArrayFromHeap(segmentIds) as Int32Array;
  const sums = backend.typedArrayFromHeap(output) as Float32Array | Int32Array;
  for (let row = 0; row < rowCount; row++) {
    const segment = ids[row];
    if (segment < 0 || segment >= numSegments) continue;
    const source = row * innerSize;
    const target = segment * innerSize;
    for (let k = 0; k < innerSize; k++) sums[target + k] += values[source + k];
  }
  return output;
}

export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum,
};
