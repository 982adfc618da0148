/**
 * The training loop: SGD with momentum for the CNN and Adam for everything else, both decayed per epoch;
 * text dropped per mini-batch with probability r; the attention gradient clipped by global norm;
 * validation after every epoch, keeping the weights of the best epoch.
 */
import * as tf from '@tensorflow/tfjs';
import type { ExperimentConfig } from '../config/schema.ts';
import { makeBatch, type PreparedData, type Sample } from '../data/index.ts';
import { predict } from '../evaluate/evaluate.ts';
import type { EventListener, ValidationMetrics } from '../events.ts';
import { disposeModelInputs, toModelInputs } from '../model/inputs.ts';
import type { TandemNet } from '../model/tandem-net.ts';
import type { Random } from '../random.ts';
import { Adam, clipByGlobalNorm, SgdMomentum, type Optimizer } from './optimizers.ts';

/** One row of the training history. */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  /** Share of this epoch's mini-batches whose text was dropped. */
  textDroppedShare: number;
  validation: ValidationMetrics;
  cnnLearningRate: number;
  othersLearningRate: number;
  seconds: number;
}

export interface TrainResult {
  history: EpochRecord[];
  /** 1-based epoch whose weights the model holds on return; 0 if no epoch finished. */
  bestEpoch: number;
  /** True when `signal` stopped training before the last epoch. */
  interrupted: boolean;
}

export interface TrainOptions {
  config: ExperimentConfig;
  data: PreparedData;
  model: TandemNet;
  random: Random;
  emit: EventListener;
  /** Checked between mini-batches; when aborted, training stops after the current step. */
  signal?: AbortSignal;
}

/** Split the training samples into shuffled mini-batches; a last batch of one sample joins the one before. */
export function epochBatches(samples: readonly Sample[], batchSize: number, random: Random): Sample[][] {
  const order = random.shuffle([...samples]);
  const batches: Sample[][] = [];
  for (let start = 0; start < order.length; start += batchSize) batches.push(order.slice(start, start + batchSize));
  // Batch norm cannot estimate a variance from one sample.
  if (batches.length > 1 && batches[batches.length - 1].length === 1) batches[batches.length - 2].push(...batches.pop()!);
  return batches;
}

/** Higher is better for every selection metric; loss is negated. */
function selectionScore(metrics: ValidationMetrics, config: ExperimentConfig): number {
  const metric = config.train.selectBy;
  return metric === 'loss' ? -metrics.loss : metrics[metric];
}

export class Trainer {
  private readonly cnnOptimizer: Optimizer;
  private readonly othersOptimizer: Optimizer;
  private readonly cnnVariables: tf.Variable[];
  private readonly attentionVariables: tf.Variable[];
  private readonly otherVariables: tf.Variable[];

  constructor(private readonly options: TrainOptions) {
    const { model, config } = options;
    const store = model.store;
    this.cnnVariables = store.trainable('cnn');
    this.attentionVariables = store.trainable('attention');
    this.otherVariables = [...store.trainable('text'), ...this.attentionVariables, ...store.trainable('classifier')];
    const { cnn, others } = config.train;
    this.cnnOptimizer = new SgdMomentum(this.cnnVariables, cnn.learningRate, cnn.momentum, cnn.weightDecay);
    this.othersOptimizer = new Adam(this.otherVariables, others.learningRate, others.beta1, others.beta2, others.epsilon);
  }

  /** Train for the configured epochs and leave the best epoch's weights in the model. */
  async run(): Promise<TrainResult> {
    const { config, data, model, emit, signal } = this.options;
    const history: EpochRecord[] = [];
    let bestEpoch = 0;
    let bestScore = -Infinity;
    let bestWeights: Map<string, Float32Array> | null = null;
    const shuffleRandom = this.options.random.fork('shuffle');
    const augmentRandom = this.options.random.fork('augment');
    const textDropRandom = this.options.random.fork('text-drop');
    const dropoutRandom = this.options.random.fork('dropout');

    for (let epoch = 1; epoch <= config.train.epochs; epoch++) {
      const started = performance.now();
      const batches = epochBatches(data.train, config.train.batchSize, shuffleRandom);
      emit({ type: 'epoch-start', epoch, epochs: config.train.epochs, batches: batches.length });
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let dropped = 0;
      for (let index = 0; index < batches.length; index++) {
        if (signal?.aborted) break;
        const batchStarted = performance.now();
        // One draw per mini-batch, whatever r is, so that changing r does not shift other streams.
        const textDropped = textDropRandom.next() < config.model.textDropRate;
        const batch = makeBatch(batches[index], data, { augment: true, random: augmentRandom });
        const step = this.step(batch, !textDropped, dropoutRandom);
        lossSum += step.loss * batch.size;
        correct += step.correct;
        seen += batch.size;
        if (textDropped) dropped++;
        emit({
          type: 'batch-end',
          epoch,
          batch: index + 1,
          batches: batches.length,
          loss: step.loss,
          samples: batch.size,
          seconds: (performance.now() - batchStarted) / 1000,
          textDropped,
        });
        // Let the event loop run, so that Ctrl-C and output are handled between steps.
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (signal?.aborted) return this.finish(history, bestEpoch, bestWeights, true);

      const validation = this.validate();
      const score = selectionScore(validation, config);
      const best = score > bestScore;
      if (best) {
        bestScore = score;
        bestEpoch = epoch;
        bestWeights = model.store.snapshot();
      }
      const record: EpochRecord = {
        epoch,
        trainLoss: seen ? lossSum / seen : 0,
        trainAccuracy: seen ? correct / seen : 0,
        textDroppedShare: batches.length ? dropped / batches.length : 0,
        validation,
        cnnLearningRate: this.cnnOptimizer.learningRate,
        othersLearningRate: this.othersOptimizer.learningRate,
        seconds: (performance.now() - started) / 1000,
      };
      history.push(record);
      emit({
        type: 'epoch-end',
        epoch,
        epochs: config.train.epochs,
        trainLoss: record.trainLoss,
        trainAccuracy: record.trainAccuracy,
        validation,
        seconds: record.seconds,
        best,
      });
      this.cnnOptimizer.learningRate *= config.train.learningRateDecay;
      this.othersOptimizer.learningRate *= config.train.learningRateDecay;
    }
    return this.finish(history, bestEpoch, bestWeights, false);
  }

  private finish(
    history: EpochRecord[],
    bestEpoch: number,
    bestWeights: Map<string, Float32Array> | null,
    interrupted: boolean,
  ): TrainResult {
    if (bestWeights) this.options.model.store.restore(bestWeights);
    return { history, bestEpoch, interrupted };
  }

  private validate(): ValidationMetrics {
    const { model, data, config } = this.options;
    const withoutText = predict(model, data.validation, data, config, false);
    const withText = predict(model, data.validation, data, config, true);
    return { loss: withoutText.loss, accuracyWithoutText: withoutText.accuracy, accuracyWithText: withText.accuracy };
  }

  /** One optimisation step on `batch`; returns its mean loss and number of correct predictions. */
  private step(batch: ReturnType<typeof makeBatch>, withText: boolean, dropoutRandom: Random): { loss: number; correct: number } {
    const { model, config } = this.options;
    const inputs = toModelInputs(batch, config.data.maxSentences, withText, 1);
    const context = { training: true, random: dropoutRandom };
    const classes = model.shape.classes;
    let predictions: tf.Tensor | null = null;

    const lossTensor = tf.tidy(() => {
      const labels = tf.oneHot(tf.tensor1d(batch.labels, 'int32'), classes);
      const variables = [...this.cnnVariables, ...this.otherVariables];
      const { value, grads } = tf.variableGrads(() => {
        const outputs = model.apply(inputs, context);
        predictions = tf.keep(tf.argMax(outputs.logits, 1));
        return tf.losses.softmaxCrossEntropy(labels, outputs.logits) as tf.Scalar;
      }, variables);
      // A part that took no part in this step (the language model when text is dropped) gets a zero
      // gradient, as it does when S is multiplied by zero, so Adam's moments still decay.
      const gradientOf = (v: tf.Variable) => grads[v.name] ?? tf.zerosLike(v);
      const attentionGradients = this.attentionVariables.map(gradientOf);
      const { clipped } = clipByGlobalNorm(attentionGradients, config.train.attentionGradientClip);
      const clippedByVariable = new Map(this.attentionVariables.map((v, i) => [v, clipped[i]]));
      this.cnnOptimizer.step(this.cnnVariables.map(gradientOf));
      this.othersOptimizer.step(this.otherVariables.map((v) => clippedByVariable.get(v) ?? gradientOf(v)));
      return value;
    });
    disposeModelInputs(inputs);

    const loss = lossTensor.dataSync()[0];
    lossTensor.dispose();
    const predicted = (predictions as tf.Tensor | null)?.dataSync() ?? new Int32Array(0);
    (predictions as tf.Tensor | null)?.dispose();
    let correct = 0;
    for (let i = 0; i < batch.size; i++) if (predicted[i] === batch.labels[i]) correct++;
    return { loss, correct };
  }

  dispose(): void {
    this.cnnOptimizer.dispose();
    this.othersOptimizer.dispose();
  }
}
