/**
 * Shards: the contiguous sub-batches that one training step's batch is split into, so that workers can
 * compute their gradients side by side and so that a batch too large for one wasm heap runs as several
 * micro-batches. Each shard is an ordinary Batch, so the model reads it as it reads a whole batch.
 */
import type { Batch } from '../data/index.ts';

/** The split of a batch: the size of each shard and the worker that computes it. */
export interface ShardPlan {
  /** Samples per shard, in batch order; they add up to the batch size. */
  sizes: number[];
  /** For each shard, the index of the worker that computes it. */
  workerOf: number[];
}

/**
 * Plans the shards of a batch of `batchSize` samples for `workers` workers, with at most `maxShardSize`
 * samples per shard. Every worker gets the same number of shards (its micro-batches), each shard has at
 * least two samples whenever the batch has two, because batch norm cannot estimate a variance from one
 * sample, and shard sizes differ by at most one. A batch too small to give every worker two samples uses
 * fewer workers.
 */
export function planShards(batchSize: number, workers: number, maxShardSize: number): ShardPlan {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}.`);
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers must be a positive integer, got ${workers}.`);
  if (!Number.isInteger(maxShardSize) || maxShardSize < 1) {
    throw new RangeError(`maxShardSize must be a positive integer, got ${maxShardSize}.`);
  }
  const smallestShard = Math.min(2, batchSize);
  const usedWorkers = Math.max(1, Math.min(workers, Math.floor(batchSize / smallestShard)));
  const perWorker = Math.ceil(batchSize / usedWorkers);
  let microBatches = Math.ceil(perWorker / Math.max(maxShardSize, smallestShard));
  // Keep two samples per shard even when the memory limit calls for smaller shards.
  microBatches = Math.max(1, Math.min(microBatches, Math.floor(batchSize / (usedWorkers * smallestShard))));

  const count = usedWorkers * microBatches;
  const sizes: number[] = [];
  const base = Math.floor(batchSize / count);
  const larger = batchSize % count;
  for (let shard = 0; shard < count; shard++) sizes.push(base + (shard < larger ? 1 : 0));
  // Worker w computes shards w*microBatches .. (w + 1)*microBatches - 1, so each worker's samples are
  // contiguous in the batch.
  const workerOf = sizes.map((_, shard) => Math.floor(shard / microBatches));
  return { sizes, workerOf };
}

/** Returns the number of LSTM steps that the reports of samples first..end-1 of `batch` need. */
function stepsNeeded(batch: Batch, first: number, end: number, sentences: number): number {
  let steps = 1;
  for (let sample = first; sample < end; sample++) {
    for (let slot = 0; slot < sentences; slot++) {
      const index = sample * sentences + slot;
      if (batch.sentenceMask[index] !== 0) steps = Math.max(steps, batch.sentencePositions[index] + 1);
    }
  }
  return steps;
}

/**
 * Copies samples first..first+size-1 of `batch` into a batch of their own. The word ids keep only the
 * time steps that the shard's longest report needs, because the steps after every report's last
 * end-of-sentence token change no sentence vector. `sentences` is N, data.maxSentences.
 */
export function sliceBatch(batch: Batch, first: number, size: number, sentences: number): Batch {
  const end = first + size;
  if (!Number.isInteger(first) || first < 0 || size < 1 || end > batch.size) {
    throw new RangeError(`Shard ${first}..${end - 1} lies outside the batch of ${batch.size} samples.`);
  }
  const pixelsPerImage = batch.imageSize * batch.imageSize * 3;
  const steps = Math.min(batch.steps, stepsNeeded(batch, first, end, sentences));
  const tokens = new Int32Array(size * steps);
  for (let sample = 0; sample < size; sample++) {
    const start = (first + sample) * batch.steps;
    tokens.set(batch.tokens.subarray(start, start + steps), sample * steps);
  }
  return {
    size,
    images: batch.images.slice(first * pixelsPerImage, end * pixelsPerImage),
    imageSize: batch.imageSize,
    tokens,
    steps,
    sentencePositions: batch.sentencePositions.slice(first * sentences, end * sentences),
    sentenceMask: batch.sentenceMask.slice(first * sentences, end * sentences),
    sentenceTypes: batch.sentenceTypes.slice(first, end),
    labels: batch.labels.slice(first, end),
    ids: batch.ids.slice(first, end),
  };
}

/** Splits `batch` into the shards of `plan`, in batch order. */
export function splitBatch(batch: Batch, plan: ShardPlan, sentences: number): Batch[] {
  const total = plan.sizes.reduce((sum, size) => sum + size, 0);
  if (total !== batch.size) throw new RangeError(`The shard plan covers ${total} samples, but the batch has ${batch.size}.`);
  const shards: Batch[] = [];
  let first = 0;
  for (const size of plan.sizes) {
    shards.push(sliceBatch(batch, first, size, sentences));
    first += size;
  }
  return shards;
}
