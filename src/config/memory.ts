/**
 * An estimate of the memory that one training step takes on the wasm backend, so that the config check
 * can reject a batch that cannot fit before any data is read.
 */
import type { ExperimentConfig } from './schema.ts';

/**
 * The maximum size in bytes of the wasm heap: `getHeapMax()` in @tensorflow/tfjs-backend-wasm 4.22.0
 * returns 4294901760 (4 GiB less one 64 KiB page), the limit of a 32-bit wasm memory.
 */
export const WASM_HEAP_LIMIT_BYTES = 4294901760;

const FLOAT32_BYTES = 4;

/**
 * Words in the vocabulary, which the data decides: about as many as the VQA-RAD training reports have.
 * The word embeddings and their per-step gradients scale with it.
 */
const ASSUMED_VOCABULARY_SIZE = 1500;

/**
 * Float32 tensors alive at the peak of a training step, per element of the unit that each is counted
 * in. tfjs keeps the forward tensors that gradients need until the backward pass ends, and keeps every
 * gradient it computes until then too. The LSTM uses its weights and the word embeddings at every time
 * step, so the backward pass keeps one weight gradient per step, whatever the batch size.
 *
 * The numbers are fitted to the wasm heap size after one step (the heap only grows, so that is its peak)
 * that scripts/measure-step-memory.ts printed with tfjs-backend-wasm 4.22.0 on a 2-core x86-64 Linux
 * machine. Each unit was varied alone: batch 4 against 48 or 64, 16 sentences of 24 tokens against 2 of
 * 192, text and image sizes shrunk to nothing in turn. The estimate came out 1 to 14 % above the measured
 * heap for the WRN (configs/vqa-rad.yaml at batches 4 to 64: 1190 to 3310 MiB measured, and variants
 * without text or with 16- to 128-pixel images), and from 11 % below (batch 4) to 8 % above (batch 32)
 * for ResNet-18 without text.
 */
const TENSORS_PER_UNIT = {
  /** Per element of the stem's and each residual block's output: batch norm, ReLU, dropout, convolutions. */
  image: 45,
  /** Per element of [x_t ; h_t] (K + D) at each time step and sample: gates, cell and hidden state. */
  lstm: 20,
  /** Per element of S (N x D) at each time step and sample: the add that gathers each sentence's state. */
  sentenceStates: 2.5,
  /** Per element of the LSTM weights and word embeddings, at each time step: their gradients. */
  textWeightGradients: 1.2,
} as const;

/** The estimated bytes of one training step and the largest batch that fits the wasm heap. */
export interface StepMemoryEstimate {
  /** Bytes that do not depend on the batch size: parameters, optimiser state, per-step weight gradients. */
  fixedBytes: number;
  /** Activations and their gradients for one sample. */
  perSampleBytes: number;
  /** fixedBytes + batchSize x perSampleBytes. */
  totalBytes: number;
  /** The largest batch whose total stays within WASM_HEAP_LIMIT_BYTES; 0 when none does. */
  largestBatch: number;
}

/**
 * Estimates the peak memory of one training step with text, the larger of the two kinds of step.
 * NOTE: this is an estimate, not a bound. It assumes the longest possible reports (maxSentences
 * sentences of maxSentenceTokens tokens each), which makes it high for short reports, and a vocabulary
 * of ASSUMED_VOCABULARY_SIZE words, and that every model part trains, although a frozen part keeps no
 * gradients. The ResNet-18 backbone is counted like the WRN, per block output, with the WRN's coefficient.
 */
export function estimateWasmTrainingStep(config: ExperimentConfig): StepMemoryEstimate {
  const { imageSize, maxSentences, maxSentenceTokens } = config.data;
  const { text } = config.model;
  const backbone = backboneActivations(config);
  // The image-only model has neither a language model nor the attention.
  const readsText = config.model.type !== 'image-only';
  const steps = readsText ? maxSentences * maxSentenceTokens : 0;

  const perSampleElements =
    imageSize * imageSize * 3 +
    TENSORS_PER_UNIT.image * backbone.elements +
    TENSORS_PER_UNIT.lstm * steps * (text.embeddingSize + text.hiddenSize) +
    TENSORS_PER_UNIT.sentenceStates * steps * maxSentences * text.hiddenSize;
  const perSampleBytes = FLOAT32_BYTES * perSampleElements;

  const textParameters = readsText ? textAndAttentionParameters(config, backbone.channels) : { total: 0, perStep: 0 };
  // Each parameter has its value, its gradient and up to two optimiser moments (Adam).
  const parameterElements = 4 * (backbone.parameters + textParameters.total);
  const stepGradientElements = TENSORS_PER_UNIT.textWeightGradients * steps * textParameters.perStep;
  const fixedBytes = FLOAT32_BYTES * (parameterElements + stepGradientElements);

  const totalBytes = fixedBytes + config.train.batchSize * perSampleBytes;
  const largestBatch = Math.max(0, Math.floor((WASM_HEAP_LIMIT_BYTES - fixedBytes) / perSampleBytes));
  return { fixedBytes, perSampleBytes, totalBytes, largestBatch };
}

/** Output elements per sample of the backbone's layers, its feature map and its parameter count. */
interface BackboneActivations {
  /** Sum over the stem and every residual block of the output elements per sample. */
  elements: number;
  /** C: channels of the feature map. */
  channels: number;
  parameters: number;
}

/** Counts the backbone that `model.backbone.type` names. */
function backboneActivations(config: ExperimentConfig): BackboneActivations {
  const backbone = config.model.backbone;
  if (backbone.type === 'resnet18') {
    // src/model/resnet18.ts: a 7x7 stride-2 stem with 64 channels and a stride-2 max pool, then four
    // stages of two blocks with 64, 128, 256 and 512 channels at strides 1, 2, 2 and 2.
    const stemSide = Math.ceil(config.data.imageSize / 2);
    return residualStages(Math.ceil(stemSide / 2), stemSide * stemSide * 64, 64, [64, 128, 256, 512], 2, 7 * 7 * 3 * 64);
  }
  // src/model/wrn.ts: a 7x7 stride-4 stem with 16 channels, then three stages of n = (depth - 4) / 6
  // blocks with 16k, 32k and 64k channels at strides 1, 2 and 2.
  const stemSide = Math.ceil(config.data.imageSize / 4);
  const widths = [16, 32, 64].map((width) => width * (backbone.widenFactor ?? 1));
  const blocksPerStage = Math.max(1, Math.floor(((backbone.depth ?? 10) - 4) / 6));
  return residualStages(stemSide, stemSide * stemSide * 16, 16, widths, blocksPerStage, 7 * 7 * 3 * 16);
}

/**
 * Counts residual stages of two-convolution blocks that start at a feature map of side `side` with
 * `inChannels` channels. Every stage after the first halves the side.
 */
function residualStages(
  side: number,
  stemElements: number,
  inChannels: number,
  widths: readonly number[],
  blocksPerStage: number,
  stemParameters: number,
): BackboneActivations {
  let elements = stemElements;
  let parameters = stemParameters;
  let channels = inChannels;
  widths.forEach((width, stage) => {
    if (stage > 0) side = Math.ceil(side / 2);
    for (let block = 0; block < blocksPerStage; block++) {
      elements += side * side * width;
      parameters += 9 * channels * width + 9 * width * width + (channels === width ? 0 : channels * width);
      channels = width;
    }
  });
  return { elements, channels, parameters };
}

/**
 * Counts the parameters of the language model and the attention, and those used at every time step
 * (the LSTM weights and the word embeddings).
 */
function textAndAttentionParameters(config: ExperimentConfig, imageChannels: number): { total: number; perStep: number } {
  const { text, attention } = config.model;
  const words = ASSUMED_VOCABULARY_SIZE * text.embeddingSize;
  const lstm = (text.embeddingSize + text.hiddenSize + 1) * 4 * text.hiddenSize;
  const embeddings = (imageChannels + 1) * attention.size + (text.hiddenSize + 1) * attention.size;
  const projections = 4 * attention.size * attention.size + 2 * (attention.size + 1);
  return { total: words + lstm + embeddings + projections, perStep: words + lstm };
}
