/**
 * Inference over a list of samples, with or without their reports.
 */
import * as tf from '@tensorflow/tfjs';
import type { ExperimentConfig } from '../config/schema.ts';
import { makeBatch, type PreparedData, type Sample } from '../data/index.ts';
import { disposeModelInputs, toModelInputs } from '../model/inputs.ts';
import type { Model } from '../model/model.ts';
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
  /** Per sample, the type of each present sentence, aligned with `sentenceWeights` (empty without text). */
  sentenceTypes: string[][];
  /** samples x classifierInputSize, row-major: the classifier input c + mean(V′), or c without the skip-connection. */
  classifierInputs: Float32Array;
  /** M, the length of one classifier input, read from the model's output; 0 when there are no samples. */
  classifierInputSize: number;
  /** samples x G image attention weights, row-major; each row is the feature map in row-major order. */
  imageWeights: Float32Array;
  /** Height and width of the feature map; G = height x width. */
  featureMap: { height: number; width: number };
}

/**
 * The factor applied to S when testing with text: (1 - r) if `scaleTextAtTest`, as dropout does, else 1.
 */
export function testTextScale(config: ExperimentConfig): number {
  return config.model.scaleTextAtTest ? 1 - config.model.textDropRate : 1;
}

/**
 * Classify `samples` in evaluation mode (no dropout, batch-norm running statistics). `onBatch`, when given,
 * is called after each batch with the number of samples classified so far.
 */
export function predict(
  model: Model,
  samples: readonly Sample[],
  data: PreparedData,
  config: ExperimentConfig,
  withText: boolean,
  onBatch?: (done: number) => void,
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
    sentenceTypes: [],
    classifierInputs: new Float32Array(0),
    classifierInputSize: 0,
    imageWeights: new Float32Array(0),
    featureMap: featureMapSize(model, config.data.imageSize),
  };
  const positions = result.featureMap.height * result.featureMap.width;
  // Evaluation draws no random numbers; the context still needs a stream.
  const context = { training: false, random: new Random(0) };
  let lossSum = 0;
  for (let start = 0; start < samples.length; start += config.train.batchSize) {
    const batch = makeBatch(samples.slice(start, start + config.train.batchSize), data, { augment: false });
    const inputs = toModelInputs(batch, sentences, withText, testTextScale(config));
    const [probabilities, losses, textWeights, classifierInputs, imageWeights] = tf.tidy(() => {
      const outputs = model.apply(inputs, context);
      const labels = tf.oneHot(tf.tensor1d(batch.labels, 'int32'), classes);
      const perSample = tf.losses.softmaxCrossEntropy(labels, outputs.logits, undefined, undefined, tf.Reduction.NONE);
      return [tf.softmax(outputs.logits), perSample, outputs.textWeights, outputs.classifierInput, outputs.imageWeights];
    });
    disposeModelInputs(inputs);
    if (imageWeights.shape[1] !== positions) {
      const shape = imageWeights.shape.join(' x ');
      tf.dispose([probabilities, losses, textWeights, classifierInputs, imageWeights]);
      throw new Error(
        `The model returned image weights of shape ${shape}, but its backbone promises a ` +
          `${result.featureMap.height} x ${result.featureMap.width} feature map (${positions} positions).`,
      );
    }
    if (start === 0) {
      // The classifier input size M comes from the model, so a variant that changes it needs no change here.
      result.classifierInputSize = classifierInputs.shape[1];
      result.classifierInputs = new Float32Array(samples.length * result.classifierInputSize);
      result.imageWeights = new Float32Array(samples.length * positions);
    }
    const probabilityValues = probabilities.dataSync();
    const lossValues = losses.dataSync();
    const weightValues = textWeights.dataSync();
    result.classifierInputs.set(classifierInputs.dataSync(), start * result.classifierInputSize);
    result.imageWeights.set(imageWeights.dataSync(), start * positions);
    tf.dispose([probabilities, losses, textWeights, classifierInputs, imageWeights]);

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
      result.sentenceTypes.push(withText ? batch.sentenceTypes[i] : []);
    }
    onBatch?.(start + batch.size);
  }
  result.loss = samples.length === 0 ? 0 : lossSum / samples.length;
  result.accuracy = accuracy(result.labels, result.predictions);
  return result;
}

/** Compute the feature-map size for square `imageSize` inputs: ceil(imageSize / total stride) along each axis. */
function featureMapSize(model: Model, imageSize: number): { height: number; width: number } {
  const side = Math.ceil(imageSize / model.backbone.totalStride);
  return { height: side, width: side };
}
