/**
 * Sharded training steps: the gradient of a batch computed as the size-weighted mean of the gradients of
 * its shards. Worker threads compute the shards side by side (data parallelism), or this thread computes
 * them one after another (micro-batches with accumulated gradients, for a batch too large for one wasm
 * heap).
 *
 * Semantics, as in PyTorch's DistributedDataParallel without SyncBatchNorm: the mean loss, its gradient
 * and the predictions are those of the whole batch for every layer that treats samples independently.
 * Batch norm in training mode normalises each shard with that shard's own mean and variance, so a step
 * with several shards differs from the step on the whole batch. The running statistics become the
 * size-weighted mean of each shard's update, which gives the running mean of the whole batch and a
 * running variance without the spread between the shards' means. Dropout masks come from a stream per
 * shard. A given seed, batch and shard plan give bitwise identical results however many workers compute
 * the shards, and a different shard plan (another worker count) gives different results.
 */
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import type { ResolvedBackendName } from '../backend/select.ts';
import type { ExperimentConfig } from '../config/schema.ts';
import type { Batch } from '../data/index.ts';
import type { Model } from '../model/model.ts';
import {
  assignValues,
  computeShardGradients,
  describeShardLayout,
  packValues,
  readValues,
  shardRandom,
  variablesByName,
  type ShardGradients,
  type ShardLayout,
} from './gradients.ts';
import {
  shardTransferList,
  toShardBatch,
  unpackFloat32,
  type ShardResultMessage,
  type StepMessage,
  type WorkerTiming,
  type WorkerReply,
  type WorkerRequest,
} from './protocol.ts';
import { planShards, splitBatch, type ShardPlan } from './shards.ts';

/** Options of ShardedTraining. */
export interface ShardedTrainingOptions {
  config: ExperimentConfig;
  model: Model;
  /** The backend of this thread, which every worker uses too. */
  backend: ResolvedBackendName;
  /** Worker threads; 1 computes the shards in this thread. */
  workers: number;
  /** The maximum samples of one shard, from the memory plan. */
  maxShardSize: number;
}

/** The combined outcome of one sharded step. */
export interface ShardedStepResult {
  /** Mean loss over the batch: the size-weighted mean of the shards' mean losses. */
  loss: number;
  /** Predicted class of each sample of the batch, in batch order. */
  predictions: Int32Array;
  /** Gradient of the batch's mean loss per trained parameter, in ShardLayout.trained order. */
  gradients: Float32Array[];
  /** The new value of each buffer of ShardLayout.buffers. */
  buffers: Float32Array[];
  /** The shard plan that the step used. */
  plan: ShardPlan;
}

/** Timings of one sharded step in ms, for profiling. */
export interface StepTiming {
  /** Reading and packing the weights and splitting the batch, in this thread. */
  prepareMs: number;
  /** From sending the shards until the last result arrived (or computing them here). */
  computeMs: number;
  /** Combining the shards' gradients, in this thread. */
  combineMs: number;
  /** Applying the gradients and storing the statistics, in this thread; 0 for computeStep alone. */
  applyMs: number;
  /** The timings that each worker reported; empty when the shards ran in this thread. */
  workers: WorkerTiming[];
}

/** The arguments of the callback that applies a sharded step's gradients. */
export type GradientOf = (variable: tf.Variable) => tf.Tensor;

/** A worker thread and the replies it still owes. */
interface GradientWorker {
  thread: Worker;
  pending: Map<number, { resolve: (reply: WorkerStepReply) => void; reject: (error: Error) => void }>;
  /** Set once the thread failed or exited; every later request fails with it. */
  failure: Error | null;
}

/** A worker's reply to one step. */
interface WorkerStepReply {
  shards: ShardResultMessage[];
  timing: WorkerTiming;
}

const WORKER_ENTRY = new URL('./worker-entry.mjs', import.meta.url);

/**
 * Computes sharded training steps for one model. The constructor starts the worker threads, which get
 * ready in the background while the caller goes on. The first step waits for them, and rejects with the
 * error of a worker that failed to start. Call close() when training ends.
 */
export class ShardedTraining {
  private stepCount = 0;
  /** Timings of the last step. */
  lastTiming: StepTiming | null = null;
  readonly layout: ShardLayout;
  private readonly variables: Map<string, tf.Variable>;
  private readonly trained: tf.Variable[];
  private readonly workers: GradientWorker[] = [];
  /** Settles when every worker is ready, or rejects with the first worker's failure. */
  private readonly ready: Promise<void>;
  private closed = false;

  /**
   * Starts `options.workers` worker threads, each with the backend of this thread and a replica of the
   * model, or none when options.workers is 1.
   */
  constructor(private readonly options: ShardedTrainingOptions) {
    if (!Number.isInteger(options.workers) || options.workers < 1) {
      throw new RangeError(`workers must be a positive integer, got ${options.workers}.`);
    }
    this.layout = describeShardLayout(options.model, options.config);
    this.variables = variablesByName(options.model.store);
    this.trained = this.layout.trained.map((name) => this.variables.get(name)!);
    const ready: Promise<void>[] = [];
    if (options.workers > 1) {
      for (let index = 0; index < options.workers; index++) {
        const worker: GradientWorker = { thread: new Worker(WORKER_ENTRY), pending: new Map(), failure: null };
        this.workers.push(worker);
        ready.push(attachWorker(worker, index));
        const init: WorkerRequest = {
          type: 'init',
          config: options.config,
          shape: options.model.shape,
          backend: options.backend,
          layout: this.layout,
        };
        worker.thread.postMessage(init);
      }
    }
    this.ready = Promise.all(ready).then(() => undefined);
    // The failure is reported by the first step that waits for the workers; this keeps Node from
    // reporting it as an unhandled rejection before then.
    this.ready.catch(() => undefined);
  }

  /** Starts a ShardedTraining and resolves once its workers are ready; see the constructor. */
  static async start(options: ShardedTrainingOptions): Promise<ShardedTraining> {
    const training = new ShardedTraining(options);
    try {
      await training.ready;
    } catch (error) {
      await training.close();
      throw error;
    }
    return training;
  }

  /** Worker threads in use; 1 when the shards run in this thread. */
  get workerCount(): number {
    return Math.max(1, this.workers.length);
  }

  /** The maximum samples per shard. */
  get maxShardSize(): number {
    return this.options.maxShardSize;
  }

  /** Returns the shard plan of a batch of `batchSize` samples. */
  plan(batchSize: number): ShardPlan {
    return planShards(batchSize, this.workerCount, this.options.maxShardSize);
  }

  /**
   * Computes the gradient of `batch` from its shards with the model's current weights, and leaves the
   * weights and buffers of the model unchanged. `stepSeed` seeds every shard's dropout stream.
   */
  async computeStep(batch: Batch, withText: boolean, stepSeed: number): Promise<ShardedStepResult> {
    if (this.closed) throw new Error('This ShardedTraining was closed.');
    await this.ready;
    const started = performance.now();
    const plan = this.plan(batch.size);
    const shards = splitBatch(batch, plan, this.options.config.data.maxSentences);
    const timing: StepTiming = { prepareMs: 0, computeMs: 0, combineMs: 0, applyMs: 0, workers: [] };
    let results: ShardGradients[];
    if (this.workers.length === 0) {
      timing.prepareMs = performance.now() - started;
      results = this.computeHere(shards, withText, stepSeed);
      timing.computeMs = performance.now() - started - timing.prepareMs;
    } else {
      results = await this.computeOnWorkers(shards, plan, withText, stepSeed, timing);
      timing.prepareMs = performance.now() - started - timing.computeMs;
    }
    const combining = performance.now();
    const combined = combineShards(results, plan);
    timing.combineMs = performance.now() - combining;
    this.lastTiming = timing;
    return combined;
  }

  /**
   * Runs one training step on `batch`: computes its sharded gradient, hands `applyGradients` a function
   * that returns each trained parameter's gradient tensor (inside a tf.tidy, so the caller's updates may
   * create tensors freely), then stores the combined batch norm statistics. Returns the mean loss and
   * the number of correct predictions.
   */
  async step(
    batch: Batch,
    withText: boolean,
    stepSeed: number,
    applyGradients: (gradientOf: GradientOf) => void,
  ): Promise<{ loss: number; correct: number }> {
    const result = await this.computeStep(batch, withText, stepSeed);
    const applying = performance.now();
    tf.tidy(() => {
      const tensors = new Map<tf.Variable, tf.Tensor>();
      this.trained.forEach((variable, index) => tensors.set(variable, tf.tensor(result.gradients[index], variable.shape, 'float32')));
      applyGradients((variable) => {
        const gradient = tensors.get(variable);
        if (gradient === undefined) throw new Error(`Parameter ${variable.name} is not trained by this sharded step.`);
        return gradient;
      });
    });
    assignValues(this.variables, this.layout.buffers, result.buffers);
    if (this.lastTiming !== null) this.lastTiming.applyMs = performance.now() - applying;
    let correct = 0;
    for (let i = 0; i < batch.size; i++) if (result.predictions[i] === batch.labels[i]) correct++;
    return { loss: result.loss, correct };
  }

  /** Stops the worker threads. Calling it again does nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.workers.map(async (worker) => {
        if (worker.failure === null) {
          const close: WorkerRequest = { type: 'close' };
          worker.thread.postMessage(close);
        }
        await worker.thread.terminate();
      }),
    );
  }

  /** Runs the shards one after another on this thread's model, each from the step's buffers. */
  private computeHere(shards: Batch[], withText: boolean, stepSeed: number): ShardGradients[] {
    const { model, config } = this.options;
    const startBuffers = readValues(this.variables, this.layout.buffers);
    const results: ShardGradients[] = [];
    shards.forEach((shard, index) => {
      if (index > 0) assignValues(this.variables, this.layout.buffers, startBuffers);
      results.push(
        computeShardGradients(model, shard, {
          layout: this.layout,
          variables: this.variables,
          withText,
          sentences: config.data.maxSentences,
          random: shardRandom(stepSeed, index),
        }),
      );
    });
    assignValues(this.variables, this.layout.buffers, startBuffers);
    return results;
  }

  /** Sends each worker the weights and its shards, and collects the shards' results in batch order. */
  private async computeOnWorkers(
    shards: Batch[],
    plan: ShardPlan,
    withText: boolean,
    stepSeed: number,
    timing: StepTiming,
  ): Promise<ShardGradients[]> {
    const step = ++this.stepCount;
    const weights = packValues(this.variables, this.layout.names);
    const assignments = this.workers
      .map((worker, workerIndex) => ({
        worker,
        shards: shards.map((batch, index) => ({ index, batch: toShardBatch(batch) })).filter(({ index }) => plan.workerOf[index] === workerIndex),
      }))
      .filter(({ shards: own }) => own.length > 0);
    // The last worker takes the packed weights themselves and each other one a copy, made before any
    // message transfers (and so detaches) the original.
    const workerWeights = assignments.map((_, index) => (index === assignments.length - 1 ? weights : weights.slice()));
    const sending = performance.now();
    const replies = assignments.map(({ worker, shards: own }, index) => {
      const message: StepMessage = { type: 'step', step, weights: workerWeights[index], withText, stepSeed, shards: own };
      const transfers = [workerWeights[index].buffer as ArrayBuffer, ...own.flatMap(({ batch }) => shardTransferList(batch))];
      return this.request(worker, message, transfers);
    });
    const byIndex = new Map<number, ShardResultMessage>();
    for (const reply of await Promise.all(replies)) {
      timing.workers.push(reply.timing);
      for (const result of reply.shards) byIndex.set(result.index, result);
    }
    timing.computeMs = performance.now() - sending;

    const trainedSizes = this.layout.trained.map((name) => this.variables.get(name)!.size);
    const bufferSizes = this.layout.buffers.map((name) => this.variables.get(name)!.size);
    return shards.map((_, index) => {
      const result = byIndex.get(index);
      if (result === undefined) throw new Error(`No worker returned shard ${index}.`);
      return {
        loss: result.loss,
        predictions: result.predictions,
        gradients: unpackFloat32(result.gradients, trainedSizes),
        packedGradients: result.gradients,
        buffers: unpackFloat32(result.buffers, bufferSizes),
        packedBuffers: result.buffers,
      };
    });
  }

  private request(worker: GradientWorker, message: StepMessage, transfers: ArrayBuffer[]): Promise<WorkerStepReply> {
    if (worker.failure !== null) return Promise.reject(worker.failure);
    return new Promise((resolve, reject) => {
      worker.pending.set(message.step, { resolve, reject });
      worker.thread.postMessage(message, transfers);
    });
  }
}

/** Listens to a worker's replies; resolves once it is ready and rejects if it fails before that. */
function attachWorker(worker: GradientWorker, index: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let ready = false;
    const fail = (error: Error) => {
      if (worker.failure !== null) return;
      worker.failure = error;
      for (const pending of worker.pending.values()) pending.reject(error);
      worker.pending.clear();
      if (!ready) reject(error);
    };
    worker.thread.on('message', (reply: WorkerReply) => {
      switch (reply.type) {
        case 'ready':
          ready = true;
          resolve();
          return;
        case 'step-done': {
          const pending = worker.pending.get(reply.step);
          worker.pending.delete(reply.step);
          pending?.resolve({ shards: reply.shards, timing: reply.timing });
          return;
        }
        case 'error': {
          const error = new Error(`Gradient worker ${index} failed: ${reply.message}`);
          if (reply.stack !== undefined) error.stack = `${error.message}\n${reply.stack}`;
          fail(error);
          return;
        }
      }
    });
    worker.thread.on('error', (error) => fail(new Error(`Gradient worker ${index} failed: ${error.message}`, { cause: error })));
    worker.thread.on('exit', (code) => fail(new Error(`Gradient worker ${index} exited with code ${code}.`)));
  });
}

/**
 * Combines the shards' results in shard order: the size-weighted mean of losses, gradients and buffers.
 * The sums run in float64 in a fixed order, so the result does not depend on which worker computed
 * which shard.
 */
export function combineShards(results: readonly ShardGradients[], plan: ShardPlan): ShardedStepResult {
  const total = plan.sizes.reduce((sum, size) => sum + size, 0);
  const weights = plan.sizes.map((size) => size / total);
  const predictions = new Int32Array(total);
  let offset = 0;
  let loss = 0;
  results.forEach((result, index) => {
    predictions.set(result.predictions, offset);
    offset += plan.sizes[index];
    loss += weights[index] * result.loss;
  });
  return {
    loss,
    predictions,
    gradients: weightedMeans(results.map((result) => result.gradients), weights),
    buffers: weightedMeans(results.map((result) => result.buffers), weights),
    plan,
  };
}

/** For each position k, the weighted sum over shards s of arrays[s][k], summed in shard order. */
function weightedMeans(arrays: readonly (readonly Float32Array[])[], weights: readonly number[]): Float32Array[] {
  if (arrays.length === 1) return arrays[0].map((array) => array.slice());
  return arrays[0].map((_, position) => {
    const length = arrays[0][position].length;
    const sum = new Float32Array(length);
    const shardValues = arrays.map((shardArrays) => shardArrays[position]);
    // One pass over the elements, each summed in float64 in shard order and rounded once, so the result
    // is the same for any assignment of shards to workers. Two shards, the common case, get a loop of
    // their own, about twice as fast as the general one.
    if (shardValues.length === 2) {
      const [first, second] = shardValues;
      const [firstWeight, secondWeight] = weights;
      for (let i = 0; i < length; i++) sum[i] = firstWeight * first[i] + secondWeight * second[i];
      return sum;
    }
    for (let i = 0; i < length; i++) {
      let value = 0;
      for (let shard = 0; shard < shardValues.length; shard++) value += weights[shard] * shardValues[shard][i];
      sum[i] = value;
    }
    return sum;
  });
}
