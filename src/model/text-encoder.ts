/**
 * The language model: word embeddings read by an LSTM over the whole report. S holds the hidden state at
 * each sentence's end-of-sentence token, so a sentence's vector also carries the sentences before it.
 */
import * as tf from '@tensorflow/tfjs';
import { lstmSentenceStates } from '../backend/fused-lstm.ts';
import type { ModelConfig } from '../config/schema.ts';
import { dropout, Linear, partContext, type ForwardContext } from './layers.ts';
import type { ParameterStore } from './parameters.ts';

/** A batch of reports laid out by time step; built from `Batch` by `toTextInputs`. */
export interface TextInputs {
  /** T tensors of B word ids each: the words read at each time step. */
  tokensByStep: tf.Tensor1D[];
  /**
   * T entries: for each time step, a B x N x 1 indicator of the sentences whose end-of-sentence token is
   * read at that step, or null where no report in the batch ends a sentence there.
   */
  sentenceEndsByStep: (tf.Tensor3D | null)[];
  /** B x N: the time step of each sentence's end-of-sentence token, -1 for an absent sentence. */
  sentenceSteps: Int32Array;
  /** N: sentence slots per report. */
  sentences: number;
}

/** Build the per-step tensors from a batch's B x T word ids and B x N end-of-sentence positions. */
export function toTextInputs(
  tokens: Int32Array,
  steps: number,
  sentencePositions: Int32Array,
  sentenceMask: Float32Array,
  batchSize: number,
  sentences: number,
): TextInputs {
  const tokensByStep: tf.Tensor1D[] = [];
  const ends: (Float32Array | null)[] = Array.from({ length: steps }, () => null);
  const sentenceSteps = new Int32Array(batchSize * sentences).fill(-1);
  for (let b = 0; b < batchSize; b++) {
    for (let n = 0; n < sentences; n++) {
      if (sentenceMask[b * sentences + n] === 0) continue;
      const step = sentencePositions[b * sentences + n];
      sentenceSteps[b * sentences + n] = step;
      ends[step] ??= new Float32Array(batchSize * sentences);
      ends[step]![b * sentences + n] = 1;
    }
  }
  for (let t = 0; t < steps; t++) {
    const column = new Int32Array(batchSize);
    for (let b = 0; b < batchSize; b++) column[b] = tokens[b * steps + t];
    tokensByStep.push(tf.tensor1d(column, 'int32'));
  }
  const sentenceEndsByStep = ends.map((values) => (values ? tf.tensor3d(values, [batchSize, sentences, 1]) : null));
  return { tokensByStep, sentenceEndsByStep, sentenceSteps, sentences };
}

export function disposeTextInputs(inputs: TextInputs): void {
  tf.dispose(inputs.tokensByStep);
  for (const tensor of inputs.sentenceEndsByStep) tensor?.dispose();
}

export class TextEncoder {
  readonly embedding: tf.Variable;
  private readonly gates: Linear;
  readonly hiddenSize: number;
  private readonly dropRate: number;

  constructor(config: ModelConfig['text'], vocabularySize: number, store: ParameterStore) {
    this.hiddenSize = config.hiddenSize;
    this.dropRate = config.dropout;
    // Torch's LookupTable draws embeddings from N(0, 1).
    this.embedding = store.parameter('text.embedding', [vocabularySize, config.embeddingSize], 'text', {
      kind: 'normal',
      std: 1,
    });
    // One matrix for the four gates (input, forget, cell, output) over [x_t ; h_{t-1}], U(-1/sqrt(D), 1/sqrt(D)).
    this.gates = new Linear(store, 'text.lstm', 'text', config.embeddingSize + config.hiddenSize, 4 * config.hiddenSize);
  }

  /**
   * Returns S: B x N x D, zero in the slots of absent sentences. The gates of step t are [x_t ; h_{t-1}]
   * times the gate weights plus their bias. The recurrence runs as one fused operation, because as
   * per-step tfjs ops it took over a thousand kernel calls (see src/backend/fused-lstm.ts). Each step's
   * word dropout draws its seed in step order, then S's dropout draws one.
   */
  apply(inputs: TextInputs, forwardContext: ForwardContext): tf.Tensor3D {
    const context = partContext(forwardContext, 'text');
    const words = inputs.tokensByStep.map((tokens) =>
      dropout(tf.gather(this.embedding, tokens) as tf.Tensor2D, this.dropRate, context),
    );
    const sentenceStates = lstmSentenceStates(
      tf.stack(words) as tf.Tensor3D,
      this.gates.weight as tf.Tensor2D,
      this.gates.bias as tf.Tensor1D,
      inputs.sentenceSteps,
      inputs.sentences,
    );
    return dropout(sentenceStates, this.dropRate, context);
  }
}
