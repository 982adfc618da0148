/**
 * How many trials a sweep runs at once by default: as many as the cores allow, given the threads that
 * each trial's backend uses, and no more than there are trials to run.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import type { BackendName } from '../config/schema.ts';

const require = createRequire(import.meta.url);

/** Returns whether a package can be loaded from this project. */
function isInstalled(packageName: string): boolean {
  try {
    require.resolve(`${packageName}/package.json`);
    return true;
  } catch {
    return false;
  }
}

export interface JobsEnvironment {
  /** Cores this process may use; os.availableParallelism() by default. */
  cores?: number;
  /** Whether a package is installed; looked up in node_modules by default. */
  isInstalled?: (packageName: string) => boolean;
}

/**
 * Returns the threads that one trial on `backend` keeps busy. The wasm and cpu backends compute on one
 * thread in Node.js. TensorFlow's CPU kernels use every core, and the GPU backend needs the one GPU for
 * itself, so a trial on either takes the whole machine. `auto` counts as TensorFlow when a tfjs-node
 * package is installed, because auto prefers it to wasm.
 */
export function threadsPerTrial(backend: BackendName, environment: JobsEnvironment = {}): number {
  const cores = environment.cores ?? os.availableParallelism();
  const installed = environment.isInstalled ?? isInstalled;
  switch (backend) {
    case 'wasm':
    case 'cpu':
      return 1;
    case 'tensorflow':
    case 'tensorflow-gpu':
      return cores;
    case 'auto':
      return installed('@tensorflow/tfjs-node') || installed('@tensorflow/tfjs-node-gpu') ? cores : 1;
  }
}

/**
 * Returns the default number of trials run at once: the cores divided by the threads of the busiest
 * trial's backend, at least 1 and at most `pending`, the trials left to run.
 */
export function defaultJobs(backends: readonly BackendName[], pending: number, environment: JobsEnvironment = {}): number {
  const cores = environment.cores ?? os.availableParallelism();
  const threads = Math.max(1, ...backends.map((backend) => threadsPerTrial(backend, { ...environment, cores })));
  return Math.max(1, Math.min(Math.floor(cores / threads), pending));
}
