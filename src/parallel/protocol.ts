/**
 * Messages between the training thread and its gradient workers. Many float arrays travel packed end to
 * end in one buffer, which crosses to another thread as a single transfer instead of a copy per array.
 */
import type { ExperimentConfig } from '../config/schema.ts';
import type { ResolvedBackendName } from '../backend/select.ts';
import type { Batch } from '../data/index.ts';
import type { ModelShape } from '../model/model.ts';
import type { ShardLayout } from './gradients.ts';

/** The first message to a worker: what it needs to build its replica of the model. */
export interface InitMessage {
  type: 'init';
  config: ExperimentConfig;
  shape: ModelShape;
  backend: ResolvedBackendName;
  layout: ShardLayout;
}

/** The arrays of a shard that the model reads; sentence types and ids stay in the training thread. */
export type ShardBatch = Omit<Batch, 'sentenceTypes' | 'ids'>;

/** One training step's work for a worker. */
export interface StepMessage {
  type: 'step';
  step: number;
  /** Every parameter and buffer in ShardLayout.names order, packed; the values at the start of the step. */
  weights: Float32Array;
  withText: boolean;
  stepSeed: number;
  /** The worker's shards with their index in the batch, in batch order. */
  shards: { index: number; batch: ShardBatch }[];
}

export interface CloseMessage {
  type: 'close';
}

export type WorkerRequest = InitMessage | StepMessage | CloseMessage;

/** Timings of a worker's share of one step, in ms. */
export interface WorkerTiming {
  /** Writing the step's weights into the replica. */
  assignMs: number;
  /** Forward and backward passes of the worker's shards, with their read-back. */
  computeMs: number;
}

/** The result of one shard, with its gradients and buffers packed in ShardLayout order. */
export interface ShardResultMessage {
  index: number;
  loss: number;
  predictions: Int32Array;
  gradients: Float32Array;
  buffers: Float32Array;
}

export type WorkerReply =
  | { type: 'ready'; tfjsBackend: string }
  | { type: 'step-done'; step: number; shards: ShardResultMessage[]; timing: WorkerTiming }
  | { type: 'error'; message: string; stack?: string };

/** Splits `packed` into consecutive views of `sizes` elements, without copying. */
export function unpackFloat32(packed: Float32Array, sizes: readonly number[]): Float32Array[] {
  const total = sizes.reduce((sum, size) => sum + size, 0);
  if (total !== packed.length) throw new Error(`Packed array has ${packed.length} elements, expected ${total}.`);
  const arrays: Float32Array[] = [];
  let offset = 0;
  for (const size of sizes) {
    arrays.push(packed.subarray(offset, offset + size));
    offset += size;
  }
  return arrays;
}

/** Returns the shard without its string arrays, which the model does not read. */
export function toShardBatch(batch: Batch): ShardBatch {
  const { sentenceTypes: _types, ids: _ids, ...arrays } = batch;
  return arrays;
}

/** Returns a Batch over a ShardBatch, with empty sentence types and ids. */
export function fromShardBatch(shard: ShardBatch): Batch {
  return { ...shard, sentenceTypes: Array.from({ length: shard.size }, () => []), ids: Array.from({ length: shard.size }, () => '') };
}

/** Returns the buffers that a shard message can transfer instead of copying. */
export function shardTransferList(batch: ShardBatch): ArrayBuffer[] {
  return [batch.images, batch.tokens, batch.sentencePositions, batch.sentenceMask, batch.labels].map(
    (array) => array.buffer as ArrayBuffer,
  );
}
