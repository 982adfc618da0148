/**
 * Inference over a list of samples, with or without their reports.
 */
import * as tf from '@tensorflow/tfjs';
import type { ExperimentConfig } from '../config/schema.ts';
import { makeBatch, type PreparedData, type Sample } from '../data/index.ts';
import { disposeModelInputs, toModelInputs } from '../model/inputs.ts';
import type { TandemNet } from '../model/tandem-net.ts';
import { Random } from '../random.ts';
import { accuracy, argMaxRows } from './metrics.ts';

/** Predictions for a list of samples, in the order given. */
export interface Predictions {
  withText: boolean;
  ids: string[];
  labels: number[];
  predictions: number[];
  /** samples x classes softmax probabilities, row-major. */
  probabilities: Float32Array;
  /** Mean cross-entropy. */
  loss: number;
  accuracy: number;
  /** Per sample, the attention weight of each present sentence (empty without text). */
  sentenceWeights: number[][];
  /** Per sample, the share of attention on text, over all sentence slots. */
  textAttentionShare: number[];
}

/**
 * The factor applied to S when testing with text: (1 - r) if `scaleTextAtTest`, as dropout does, else 1.
 */
export function testTextScale(config: ExperimentConfig): number {
  return config.model.scaleTextAtTest ? 1 - config.model.textDropRate : 1;
}

/** Classify `samples` in evaluation mode (no dropout, batch-norm running statistics). */
export function predict(
  model: TandemNet,
  samples: readonly Sample[],
  data: PreparedData,
  config: ExperimentConfig,
  withText: boolean,
): Predictions {
  const classes = data.classes.length;
  const sentences = config.data.maxSentences;
  const result: Predictions = {
    withText,
    ids: [],
    labels: [],
    predictions: [],
    probabilities: new Float32Array(samples.length * classes),
    loss: 0,
    accuracy: 0,
    sentenceWeights: [],
    textAttentionShare: [],
  };
  // Evaluation draws no random numbers; the context still needs a stream.
  const context = { training: false, random: new Random(0) };
  let lossSum = 0;
  for (let start = 0; start < samples.length; start += config.train.batchSize) {
    const batch = makeBatch(samples.slice(start, start + config.train.batchSize), data, { augment: false });
    const inputs = toModelInputs(batch, sentences, withText, testTextScale(config));
    const [probabilities, losses, textWeights] = tf.tidy(() => {
      const outputs = model.apply(inputs, context);
      const labels = tf.oneHot(tf.tensor1d(batch.labels, 'int32'), classes);
      const perSample = tf.losses.softmaxCrossEntropy(labels, outputs.logits, undefined, undefined, tf.Reduction.NONE);
      return [tf.softmax(outputs.logits), perSample, outputs.textWeights];
    });
    disposeModelInputs(inputs);
    const probabilityValues = probabilities.dataSync();
    const lossValues = losses.dataSync();
    const weightValues = textWeights.dataSync();
    tf.dispose([probabilities, losses, textWeights]);

    result.probabilities.set(probabilityValues, start * classes);
    const predicted = argMaxRows(probabilityValues, classes);
    for (let i = 0; i < batch.size; i++) {
      result.ids.push(batch.ids[i]);
      result.labels.push(batch.labels[i]);
      result.predictions.push(predicted[i]);
      lossSum += lossValues[i];
      const slots = Array.from(weightValues.subarray(i * sentences, (i + 1) * sentences));
      result.textAttentionShare.push(slots.reduce((a, b) => a + b, 0));
      result.sentenceWeights.push(withText ? slots.slice(0, batch.sentenceTypes[i].length) : []);
    }
  }
  result.loss = samples.length === 0 ? 0 : lossSum / samples.length;
  result.accuracy = accuracy(result.labels, result.predictions);
  return result;
}
