/**
 * Conversion of a data batch into the model's input tensors.
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../data/index.ts';
import type { ModelInputs } from './model.ts';
import { disposeTextInputs, toTextInputs } from './text-encoder.ts';

/**
 * Create the input tensors of `batch`. `withText` false leaves the reports out (S = 0). The caller
 * disposes the result with `disposeModelInputs`.
 */
export function toModelInputs(batch: Batch, sentences: number, withText: boolean, textScale: number): ModelInputs {
  const images = tf.tensor4d(batch.images, [batch.size, batch.imageSize, batch.imageSize, 3]);
  if (!withText) return { images, text: null, sentenceMask: null, textScale: 1 };
  const text = toTextInputs(batch.tokens, batch.steps, batch.sentencePositions, batch.sentenceMask, batch.size, sentences);
  const sentenceMask = tf.tensor2d(batch.sentenceMask, [batch.size, sentences]);
  return { images, text, sentenceMask, textScale };
}

export function disposeModelInputs(inputs: ModelInputs): void {
  inputs.images.dispose();
  inputs.sentenceMask?.dispose();
  if (inputs.text) disposeTextInputs(inputs.text);
}
