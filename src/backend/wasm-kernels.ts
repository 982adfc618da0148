/**
 * The project's kernels for the wasm backend of @tensorflow/tfjs-backend-wasm 4.22.0, which cannot train a
 * CNN as shipped. Conv2DBackpropFilter and UnsortedSegmentSum (the gradient of tf.gather) are missing.
 * MaxPoolGrad returns wrong gradients for windows whose values are all <= 0, and BatchMatMul returns wrong
 * values when its right operand was used before in another shape. Conv2DBackpropInput, BatchMatMul with a
 * transposed or batched operand, GatherV2, Slice, SplitV, Unpack, and Sum and Mean over leading axes are
 * slow, and Identity and Cast copy data that they could share. Each kernel's file states the quirk it
 * works around.
 */
import * as tf from '@tensorflow/tfjs';
// Imported for its side effect: the stock wasm kernels must be registered before they are replaced,
// because a later registration of a stock kernel would overwrite the project's one.
import '@tensorflow/tfjs-backend-wasm';
import { batchMatMulConfig } from './wasm/batch-mat-mul.ts';
import { conv2DBackpropFilterConfig } from './wasm/conv2d-backprop-filter.ts';
import { conv2DBackpropInputConfig } from './wasm/conv2d-backprop-input.ts';
import { gatherV2Config } from './wasm/gather.ts';
import { castConfig, identityConfig } from './wasm/identity.ts';
import { maxPoolGradConfig } from './wasm/max-pool-grad.ts';
import { meanConfig, sumConfig } from './wasm/reductions.ts';
import { sliceConfig, splitVConfig, unpackConfig } from './wasm/slice.ts';
import { rememberStockKernel, stockKernelOf } from './wasm/stock-kernels.ts';
import { unsortedSegmentSumConfig } from './wasm/unsorted-segment-sum.ts';

/** The project's wasm kernels, in registration order. */
export const WASM_TRAINING_KERNELS: readonly tf.KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  unsortedSegmentSumConfig,
  maxPoolGradConfig,
  batchMatMulConfig,
  sliceConfig,
  splitVConfig,
  unpackConfig,
  gatherV2Config,
  sumConfig,
  meanConfig,
  identityConfig,
  castConfig,
];

/**
 * Registers the project's wasm kernels in tfjs's global kernel registry, replacing the stock ones of the
 * same name. Calling it again changes nothing. It can run before or after tf.setBackend('wasm').
 */
export function registerWasmTrainingKernels(): void {
  for (const config of WASM_TRAINING_KERNELS) {
    const current = tf.getKernel(config.kernelName, 'wasm');
    if (current?.kernelFunc === config.kernelFunc) continue;
    if (current != null) {
      rememberStockKernel(current);
      tf.unregisterKernel(config.kernelName, 'wasm');
    }
    tf.registerKernel(config);
  }
}

/** Returns whether every project kernel is the one registered for the wasm backend. */
export function wasmTrainingKernelsRegistered(): boolean {
  return WASM_TRAINING_KERNELS.every(
    (config) => tf.getKernel(config.kernelName, 'wasm')?.kernelFunc === config.kernelFunc,
  );
}

/**
 * Puts the stock wasm kernels back in place of the project's ones; kernels that wasm lacks are removed.
 * Meant for tests that compare against the stock behaviour.
 */
export function unregisterWasmTrainingKernels(): void {
  // The stock kernels' setup functions (which bind their C++ functions) run only when the backend is
  // initialised, so a stock kernel that was replaced at that time needs its setup run now.
  const registry = (tf.engine() as unknown as { registry: Record<string, object | undefined> }).registry;
  const backend = registry['wasm'];
  for (const config of WASM_TRAINING_KERNELS) {
    const current = tf.getKernel(config.kernelName, 'wasm');
    if (current?.kernelFunc !== config.kernelFunc) continue;
    tf.unregisterKernel(config.kernelName, 'wasm');
    const stock = stockKernelOf(config.kernelName);
    if (stock == null) continue;
    tf.registerKernel(stock);
    if (backend != null && stock.setupFunc != null) stock.setupFunc(backend);
  }
}
