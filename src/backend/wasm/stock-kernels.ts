/**
 * The wasm backend's own kernel configs that the project's kernels replaced, kept so that a replacement
 * can delegate cases it does not handle and so that the replacements can be undone.
 */
import type * as tf from '@tensorflow/tfjs';
import type { KernelArguments } from './heap.ts';

const stockKernels = new Map<string, tf.KernelConfig>();

/** The backends on which each stock kernel's setup function has run. */
const setUpBackends = new WeakMap<tf.KernelConfig, WeakSet<object>>();

/** Stores the stock config of a kernel before it is unregistered. Only the first config per name is kept. */
export function rememberStockKernel(config: tf.KernelConfig): void {
  if (!stockKernels.has(config.kernelName)) stockKernels.set(config.kernelName, config);
}

/** Returns the stock wasm config of `kernelName`, or undefined when the backend had none. */
export function stockKernelOf(kernelName: string): tf.KernelConfig | undefined {
  return stockKernels.get(kernelName);
}

/** Runs the stock wasm kernel `kernelName`, which returns one tensor. */
export function runStockKernel(kernelName: string, args: KernelArguments): tf.TensorInfo {
  return runStockKernelFunction(kernelName, args) as tf.TensorInfo;
}

/** Runs the stock wasm kernel `kernelName` that returns several tensors, such as SplitV. */
export function runStockKernelList(kernelName: string, args: KernelArguments): tf.TensorInfo[] {
  return runStockKernelFunction(kernelName, args) as tf.TensorInfo[];
}

/**
 * Runs the stock wasm kernel `kernelName`. tfjs runs a kernel's setup function (which binds its C++
 * function) only for kernels registered when the backend initialises, so a stock kernel that was
 * already replaced then is set up here on first use.
 */
function runStockKernelFunction(kernelName: string, args: KernelArguments): tf.TensorInfo | tf.TensorInfo[] {
  const stock = stockKernels.get(kernelName);
  if (stock == null) throw new Error(`The wasm backend has no stock ${kernelName} kernel.`);
  if (stock.setupFunc != null) {
    let backends = setUpBackends.get(stock);
    if (backends == null) {
      backends = new WeakSet();
      setUpBackends.set(stock, backends);
    }
    if (!backends.has(args.backend)) {
      stock.setupFunc(args.backend);
      backends.add(args.backend);
    }
  }
  return stock.kernelFunc(args);
}
