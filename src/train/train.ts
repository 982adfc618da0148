/**
 * The training loop. SGD with momentum trains the CNN and Adam everything else, both decayed per epoch,
 * with a learning-rate factor per part; frozen parts are left out. Text is dropped per mini-batch with
 * probability r, and the attention gradient is clipped by global norm. Validation after every epoch keeps
 * the weights of the best epoch.
 */
import * as tf from '@tensorflow/tfjs';
import type { ExperimentConfig } from '../config/schema.ts';
import { makeBatch, type PreparedData, type Sample } from '../data/index.ts';
import { predict } from '../evaluate/evaluate.ts';
import type { EventListener, ValidationMetrics } from '../events.ts';
import { disposeModelInputs, toModelInputs } from '../model/inputs.ts';
import type { Model } from '../model/model.ts';
import { MODEL_PARTS, type ModelPart } from '../model/parameters.ts';
import type { ShardedTraining } from '../parallel/sharded-training.ts';
import type { Random } from '../random.ts';
import { bestSnapshot, captureTrainingState, restoreTrainingState, type TrainingState } from './checkpoint.ts';
import { checkStep, type Divergence } from './divergence.ts';
import { Adam, clipByGlobalNorm, SgdMomentum, type Optimizer } from './optimizers.ts';

/** One row of the training history. */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  /** Share of this epoch's mini-batches whose text was dropped; 0 for a model that reads no text. */
  textDroppedShare: number;
  validation: ValidationMetrics;
  /** train.cnn.learningRate after this epoch's decay steps, before any part's factor. */
  cnnLearningRate: number;
  /** train.others.learningRate after this epoch's decay steps, before any part's factor. */
  othersLearningRate: number;
  /** The learning rate of each trained part in this epoch; frozen parts and parts without parameters are absent. */
  learningRates: Partial<Record<ModelPart, number>>;
  seconds: number;
}

export interface TrainResult {
  history: EpochRecord[];
  /** 1-based epoch whose weights the model holds on return; 0 if no epoch finished. */
  bestEpoch: number;
  /** True when `signal` stopped training before the last epoch. */
  interrupted: boolean;
  /** Set when a loss or a weight became NaN or infinite; the model then contains the diverged weights. */
  divergence?: Divergence;
}

export interface TrainOptions {
  config: ExperimentConfig;
  data: PreparedData;
  model: Model;
  random: Random;
  emit: EventListener;
  /** Checked between mini-batches; when aborted, training stops after the current step. */
  signal?: AbortSignal;
  /** A checkpoint to continue from: training starts at its epoch + 1 with its weights, optimisers and random streams. */
  resume?: TrainingState;
  /** Called after every epoch with the state to checkpoint; training waits for it to settle. */
  onEpochEnd?: (state: TrainingState) => Promise<void> | void;
  /**
   * Computes each step's gradient from shards of the batch, on worker threads or as micro-batches,
   * instead of in one pass in this thread (see src/parallel/sharded-training.ts). The caller closes it.
   */
  sharded?: ShardedTraining;
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
  if (metric === 'loss') return -metrics.loss;
  const score = metrics[metric];
  // The config check rejects accuracyWithText for a model that reads no text.
  if (score === null) throw new Error(`train.selectBy is ${metric}, which this model does not measure.`);
  return score;
}

/** A part that training updates: its parameters and their optimiser. */
export interface TrainedPart {
  part: ModelPart;
  variables: tf.Variable[];
  optimizer: Optimizer;
}

/**
 * Creates the optimiser of each part that is not frozen and has parameters: SGD for the CNN, and for every
 * other part its own Adam with the shared settings. Adam updates each element from its own moments and the
 * shared step count, so one Adam per part updates exactly as one Adam over all of them would.
 */
export function createTrainedParts(model: Model, config: ExperimentConfig): TrainedPart[] {
  const { cnn, others, parts } = config.train;
  const trained: TrainedPart[] = [];
  for (const part of MODEL_PARTS) {
    const variables = model.store.trainable(part);
    if (parts[part].frozen || variables.length === 0) continue;
    const scale = parts[part].learningRateScale;
    const optimizer =
      part === 'cnn'
        ? new SgdMomentum(variables, cnn.learningRate * scale, cnn.momentum, cnn.weightDecay)
        : new Adam(variables, others.learningRate * scale, others.beta1, others.beta2, others.epsilon);
    trained.push({ part, variables, optimizer });
  }
  return trained;
}

export class Trainer {
  private readonly trainedParts: TrainedPart[];
  private readonly frozenParts: ReadonlySet<ModelPart>;
  /** The base rates of train.cnn and train.others, decayed after every epoch. */
  private cnnLearningRate: number;
  private othersLearningRate: number;

  constructor(private readonly options: TrainOptions) {
    const { model, config } = options;
    this.trainedParts = createTrainedParts(model, config);
    if (this.trainedParts.length === 0) throw new Error('Every model part with parameters is frozen, so training has nothing to update.');
    this.frozenParts = new Set(MODEL_PARTS.filter((part) => config.train.parts[part].frozen));
    this.cnnLearningRate = config.train.cnn.learningRate;
    this.othersLearningRate = config.train.others.learningRate;
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
    // Everything a checkpoint saves and restores, by the names it is saved under.
    const streams = { shuffle: shuffleRandom, augment: augmentRandom, 'text-drop': textDropRandom, dropout: dropoutRandom };
    const parts = { store: model.store, optimizers: Object.fromEntries(this.trainedParts.map((t) => [t.part, t.optimizer])), streams };
    const resume = this.options.resume;
    if (resume) {
      restoreTrainingState(resume, parts);
      history.push(...resume.history);
      [bestEpoch, bestScore, bestWeights] = [resume.bestEpoch, resume.bestScore ?? -Infinity, bestSnapshot(resume)];
      [this.cnnLearningRate, this.othersLearningRate] = [resume.learningRates.cnn, resume.learningRates.others];
    }

    for (let epoch = (resume?.epoch ?? 0) + 1; epoch <= config.train.epochs; epoch++) {
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
        const textDropped = model.readsText && textDropRandom.next() < config.model.textDropRate;
        const batch = makeBatch(batches[index], data, { augment: true, random: augmentRandom });
        const withText = model.readsText && !textDropped;
        const sharded = this.options.sharded;
        const step = sharded
          ? await sharded.step(batch, withText, dropoutRandom.nextUint32(), (gradientOf) => this.applyGradients(gradientOf))
          : this.step(batch, withText, dropoutRandom);
        const divergence = checkStep(step.loss, model.store, epoch, index + 1);
        if (divergence) return { history, bestEpoch, interrupted: false, divergence };
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
        cnnLearningRate: this.cnnLearningRate,
        othersLearningRate: this.othersLearningRate,
        learningRates: Object.fromEntries(this.trainedParts.map(({ part, optimizer }) => [part, optimizer.learningRate])),
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
      const decay = config.train.learningRateDecay;
      this.cnnLearningRate *= decay;
      this.othersLearningRate *= decay;
      for (const { optimizer } of this.trainedParts) optimizer.learningRate *= decay;
      if (this.options.onEpochEnd) {
        const learningRates = { cnn: this.cnnLearningRate, others: this.othersLearningRate };
        await this.options.onEpochEnd(captureTrainingState(parts, { epoch, history, learningRates, bestEpoch, bestScore, bestWeights }));
      }
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
    const { model, data, config, emit } = this.options;
    const progress = (withText: boolean) => (done: number) =>
      emit({ type: 'evaluation-progress', split: 'validation', withText, done, total: data.validation.length });
    const withoutText = predict(model, data.validation, data, config, false, progress(false));
    const withText = model.readsText ? predict(model, data.validation, data, config, true, progress(true)) : null;
    return {
      loss: withoutText.loss,
      accuracyWithoutText: withoutText.accuracy,
      accuracyWithText: withText?.accuracy ?? null,
    };
  }

  /** One optimisation step on `batch`; returns its mean loss and number of correct predictions. */
  private step(batch: ReturnType<typeof makeBatch>, withText: boolean, dropoutRandom: Random): { loss: number; correct: number } {
    const { model, config } = this.options;
    const inputs = toModelInputs(batch, config.data.maxSentences, withText, 1);
    const context = { training: true, random: dropoutRandom, frozenParts: this.frozenParts };
    const classes = model.shape.classes;
    let predictions: tf.Tensor | null = null;

    const lossTensor = tf.tidy(() => {
      const labels = tf.oneHot(tf.tensor1d(batch.labels, 'int32'), classes);
      const variables = this.trainedParts.flatMap((trained) => trained.variables);
      const { value, grads } = tf.variableGrads(() => {
        const outputs = model.apply(inputs, context);
        predictions = tf.keep(tf.argMax(outputs.logits, 1));
        return tf.losses.softmaxCrossEntropy(labels, outputs.logits) as tf.Scalar;
      }, variables);
      // A part that took no part in this step (the language model when text is dropped) gets a zero
      // gradient, as it does when S is multiplied by zero, so Adam's moments still decay.
      this.applyGradients((v: tf.Variable) => grads[v.name] ?? tf.zerosLike(v));
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

  /** Updates every trained part from its gradients, clipping the attention's; call it inside tf.tidy. */
  private applyGradients(gradientOf: (variable: tf.Variable) => tf.Tensor): void {
    for (const { part, variables, optimizer } of this.trainedParts) {
      const gradients = variables.map(gradientOf);
      if (part === 'attention') {
        optimizer.step(clipByGlobalNorm(gradients, this.options.config.train.attentionGradientClip).clipped);
      } else {
        optimizer.step(gradients);
      }
    }
  }

  dispose(): void {
    for (const { optimizer } of this.trainedParts) optimizer.dispose();
  }
}
