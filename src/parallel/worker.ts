/**
 * A gradient worker: a worker thread with its own tfjs backend and its own replica of the model. For each
 * training step it receives the current weights and its shards of the batch, and returns each shard's
 * loss, predictions, gradients and batch norm statistics. It never updates the weights itself; the
 * training thread applies the optimisers and sends the new weights with the next step.
 *
 * Started through worker-entry.mjs, which registers the TypeScript loader first.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../backend/select.ts';
import type { ExperimentConfig } from '../config/schema.ts';
import { buildModel, type Model } from '../model/model.ts';
import { Random } from '../random.ts';
import { assignValues, computeShardGradients, shardRandom, variablesByName, type ShardLayout } from './gradients.ts';
import {
  fromShardBatch,
  unpackFloat32,
  type InitMessage,
  type ShardResultMessage,
  type StepMessage,
  type WorkerReply,
  type WorkerRequest,
} from './protocol.ts';

interface WorkerState {
  config: ExperimentConfig;
  model: Model;
  variables: Map<string, tf.Variable>;
  layout: ShardLayout;
  /** Index of each buffer of layout.buffers in layout.names. */
  bufferPositions: number[];
}

if (parentPort === null) throw new Error('src/parallel/worker.ts must run in a worker thread.');
const port = parentPort;
let state: WorkerState | null = null;
// Messages are handled one at a time, in order, even though initialisation is asynchronous.
let queue: Promise<void> = Promise.resolve();

port.on('message', (request: WorkerRequest) => {
  queue = queue.then(() => handle(request)).catch((error: unknown) => {
    const reply: WorkerReply = {
      type: 'error',
      message: error instanceof Error ? error.message : String(error),
      stack: error instanceof Error ? error.stack : undefined,
    };
    port.postMessage(reply);
  });
});

async function handle(request: WorkerRequest): Promise<void> {
  switch (request.type) {
    case 'init':
      await initialise(request);
      return;
    case 'step':
      runStep(request);
      return;
    case 'close':
      state?.model.dispose();
      state = null;
      port.close();
      return;
  }
}

async function initialise(message: InitMessage): Promise<void> {
  // Each worker's OpenBLAS kernels keep the one thread that selectBackend sets, since the workers take the cores.
  const info = await selectBackend(message.backend, { blas: message.config.blas });
  // The training thread sends every weight before the first step, so a pretrained backbone's file is
  // not read again here.
  const config = structuredClone(message.config);
  if (config.model.backbone.type === 'resnet18') config.model.backbone.weights = null;
  const model = buildModel(config.model, message.shape, new Random(config.seed));
  const variables = variablesByName(model.store);
  const names = model.store.named().map(([name]) => name);
  if (names.join('\n') !== message.layout.names.join('\n')) {
    throw new Error('The worker built a model whose parameters differ from those of the training thread.');
  }
  const bufferPositions = message.layout.buffers.map((name) => message.layout.names.indexOf(name));
  state = { config, model, variables, layout: message.layout, bufferPositions };
  const reply: WorkerReply = { type: 'ready', tfjsBackend: info.tfjsBackend };
  port.postMessage(reply);
}

function runStep(message: StepMessage): void {
  if (state === null) throw new Error('The worker received a step before it was initialised.');
  const { model, variables, layout, config, bufferPositions } = state;
  const started = performance.now();
  const values = unpackFloat32(message.weights, layout.sizes);
  assignValues(variables, layout.names, values);
  const assigned = performance.now();
  const startBuffers = bufferPositions.map((position) => values[position]);

  const results: ShardResultMessage[] = [];
  const transfers: ArrayBuffer[] = [];
  message.shards.forEach(({ index, batch }, position) => {
    // Every shard of the step starts from the step's batch norm statistics.
    if (position > 0) assignValues(variables, layout.buffers, startBuffers);
    const result = computeShardGradients(model, fromShardBatch(batch), {
      layout,
      variables,
      withText: message.withText,
      sentences: config.data.maxSentences,
      random: shardRandom(message.stepSeed, index),
    });
    const gradients = result.packedGradients;
    const buffers = result.packedBuffers;
    results.push({ index, loss: result.loss, predictions: result.predictions, gradients, buffers });
    transfers.push(gradients.buffer as ArrayBuffer, buffers.buffer as ArrayBuffer, result.predictions.buffer as ArrayBuffer);
  });
  const timing = { assignMs: assigned - started, computeMs: performance.now() - assigned };
  const reply: WorkerReply = { type: 'step-done', step: message.step, shards: results, timing };
  port.postMessage(reply, transfers);
}
