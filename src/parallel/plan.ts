/**
 * The split of a run's training steps: the number of gradient workers (train.workers), the largest shard
 * that fits one wasm heap (train.microBatchSize), and the choice between the trainer's own step and a
 * sharded one.
 */
import { availableParallelism } from 'node:os';
import type { ResolvedBackendName } from '../backend/select.ts';
import { estimateWasmTrainingStep, WASM_HEAP_LIMIT_BYTES } from '../config/memory.ts';
import type { ExperimentConfig } from '../config/schema.ts';
import { TandemError } from '../errors.ts';

/** A worker or micro-batch setting: 'auto' or an explicit count. */
export type ParallelSetting = 'auto' | number;

/** Backends whose tensors live in one thread, so that worker threads add cores. */
const THREADED_BACKENDS: readonly ResolvedBackendName[] = ['wasm', 'cpu'];

/**
 * The maximum number of workers that `auto` starts. Each one keeps a replica of the model in its own
 * wasm heap, and the training thread copies every weight to each one per step.
 */
const MAX_AUTO_WORKERS = 8;

/**
 * The share of the 4 GiB wasm heap that a shard may plan to use: the rest is left to fragmentation and
 * to the heap's growth, which may need a larger contiguous block than the tensors themselves.
 */
const WASM_HEAP_SHARE = 0.8;

/** train.workers and train.microBatchSize, with 'auto' when the config does not set them. */
export function parallelSettings(config: ExperimentConfig): { workers: ParallelSetting; microBatchSize: ParallelSetting } {
  const train = config.train as { workers?: ParallelSetting; microBatchSize?: ParallelSetting };
  return { workers: train.workers ?? 'auto', microBatchSize: train.microBatchSize ?? 'auto' };
}

/**
 * Pixels per worker (data.imageSize squared times the samples of one worker's shard) from which one
 * worker per core, each with one OpenBLAS thread, trained faster than one worker with every core's
 * thread. In BENCHMARKS.md (2 cores, quiet machine) workers won at 224 pixels with batches 8 and 32 and
 * at 112 with batch 32, about 200,000 pixels per worker. Threads won at 112 with batch 8 and at 64 with
 * batches 8 and 32, 65,536 pixels per worker or fewer. Larger shards keep each worker's products large,
 * while in small ones the single-threaded rest of each worker's step (the LSTM's gates, batch norm)
 * dominates.
 * NOTE: measured on one 2-core machine only, so the crossover may lie elsewhere on other CPUs.
 */
const WORKERS_OVER_THREADS_PIXELS = 150_000;

/**
 * Resolves train.workers. 'auto' is one worker per core (at most 8) on the wasm backend, whose kernels
 * use one thread each under Node. It is 1 on the other backends, because tfjs-node runs its own threads
 * and the pure-JavaScript cpu backend is meant for tests. On wasm with OpenBLAS kernels that can run
 * several threads (`blasThreads` > 1), it is one worker per core only when each worker's shard has at
 * least WORKERS_OVER_THREADS_PIXELS (`shardPixels`, for one worker per core), else 1 worker that gives
 * OpenBLAS every core. An explicit count above 1 needs wasm or cpu, because tandem does not load
 * libtensorflow's bindings in worker threads.
 */
export function resolveWorkerCount(
  setting: ParallelSetting,
  backend: ResolvedBackendName,
  cores = availableParallelism(),
  blasThreads = 1,
  shardPixels = 0,
): number {
  if (setting === 'auto') {
    if (backend !== 'wasm') return 1;
    const perCore = Math.max(1, Math.min(cores, MAX_AUTO_WORKERS));
    if (blasThreads > 1 && shardPixels < WORKERS_OVER_THREADS_PIXELS) return 1;
    return perCore;
  }
  if (!Number.isInteger(setting) || setting < 1) {
    throw new TandemError(`train.workers must be auto or a positive integer, got ${setting}.`);
  }
  if (setting > 1 && !THREADED_BACKENDS.includes(backend)) {
    throw new TandemError(
      `train.workers is ${setting}, but backend ${backend} runs its own threads and cannot run in worker threads. ` +
        'Set train.workers to 1 or auto, or use backend wasm.',
    );
  }
  return setting;
}

/**
 * Resolves train.microBatchSize, the maximum samples of one shard. 'auto' is unlimited except on the wasm
 * backend, where it is the largest shard whose step fits WASM_HEAP_SHARE of the heap by the config
 * check's estimate, and at least 1. That estimate assumes the longest reports the config allows, and for
 * the default model with VQA-RAD's median report it was 1.7 to 3.8 times the peak tensor bytes that
 * tf.profile measured at 224 to 64 pixels (`scripts/bench/tfjs-step.ts --memory`).
 */
export function resolveMaxShardSize(config: ExperimentConfig, setting: ParallelSetting, backend: ResolvedBackendName): number {
  if (setting !== 'auto') {
    if (!Number.isInteger(setting) || setting < 1) {
      throw new TandemError(`train.microBatchSize must be auto or a positive integer, got ${setting}.`);
    }
    return setting;
  }
  if (backend !== 'wasm') return Number.MAX_SAFE_INTEGER;
  const estimate = estimateWasmTrainingStep(config);
  const available = WASM_HEAP_LIMIT_BYTES * WASM_HEAP_SHARE - estimate.fixedBytes;
  return Math.max(1, Math.floor(available / estimate.perSampleBytes));
}

/** The resolved split of a run's training steps, as run.json records it. */
export interface ParallelPlan {
  /** Gradient worker threads; 1 computes every step in the training thread. */
  workers: number;
  /** The maximum samples per shard (micro-batch). */
  maxShardSize: number;
  /** Whether steps are sharded (several workers, or micro-batches), or the trainer's own step runs. */
  sharded: boolean;
}

/**
 * Resolves the split of `config`'s training steps on `backend`. `blasThreads` is the maximum number of
 * OpenBLAS threads that one tfjs thread can use (BlasInfo.maxThreads), 1 without OpenBLAS.
 */
export function planParallelism(
  config: ExperimentConfig,
  backend: ResolvedBackendName,
  cores = availableParallelism(),
  blasThreads = 1,
): ParallelPlan {
  const settings = parallelSettings(config);
  const perCore = Math.max(1, Math.min(cores, MAX_AUTO_WORKERS));
  const shardPixels = config.data.imageSize ** 2 * Math.ceil(config.train.batchSize / perCore);
  const workers = resolveWorkerCount(settings.workers, backend, cores, blasThreads, shardPixels);
  const maxShardSize = resolveMaxShardSize(config, settings.microBatchSize, backend);
  const sharded = workers > 1 || maxShardSize < config.train.batchSize;
  return { workers, maxShardSize, sharded };
}

/** The run.json record of the split of the training steps. */
export interface ParallelRecord extends ParallelPlan {
  /** The effect of the split on the results, in words. */
  note: string;
}

/** Describes `plan` for run.json. */
export function describeParallelPlan(plan: ParallelPlan): ParallelRecord {
  const note = plan.sharded
    ? `Each step's gradient is the size-weighted mean of the gradients of the batch's shards (one per ` +
      `worker thread, ${plan.workers} in all, each split further into micro-batches only above ` +
      `${plan.maxShardSize} samples, the memory limit of one wasm heap), as in PyTorch's ` +
      'DistributedDataParallel without SyncBatchNorm: batch norm normalises each shard with its own ' +
      'statistics, and dropout draws a stream per shard. Results repeat for the same seed and worker count.'
    : 'Each step runs on the whole batch in the training thread.';
  const maxShardSize = Math.min(plan.maxShardSize, Number.MAX_SAFE_INTEGER);
  return { ...plan, maxShardSize, note };
}
