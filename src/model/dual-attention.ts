/**
 * Dual attention over image positions and report sentences. V′ and S′ are per-position tanh embeddings of
 * V and S; each modality's scores are conditioned on the other modality's mean embedding, and the context
 * vector c is the attention-weighted sum of the embeddings.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../config/schema.ts';
import { dropout, Linear, partContext, type ForwardContext } from './layers.ts';
import type { ParameterStore } from './parameters.ts';

// Added to the scores of absent sentences so that softmax gives them exactly zero weight in float32.
const MASKED_SCORE = -1e9;

export interface AttentionOutput {
  /** c: B x M. */
  context: tf.Tensor2D;
  /** mean(V′): B x M, the visual skip-connection. */
  meanImage: tf.Tensor2D;
  /** Attention weight of each image position: B x G. */
  imageWeights: tf.Tensor2D;
  /** Attention weight of each sentence slot: B x N, zero for absent sentences. */
  textWeights: tf.Tensor2D;
}

export class DualAttention {
  private readonly embedImage: Linear;
  private readonly embedText: Linear;
  private readonly imageProjection: Linear;
  private readonly textToImage: Linear;
  private readonly textProjection: Linear;
  private readonly imageToText: Linear;
  private readonly imageScore: Linear;
  private readonly textScore: Linear;

  constructor(
    private readonly config: ModelConfig['attention'],
    imageChannels: number,
    textSize: number,
    store: ParameterStore,
  ) {
    const size = config.size;
    this.embedImage = new Linear(store, 'attention.embedImage', 'attention', imageChannels, size);
    this.embedText = new Linear(store, 'attention.embedText', 'attention', textSize, size);
    // W_v and W_s2 give z_sv; W_s and W_v2 give z_vs. The conditioning maps need no bias of their own.
    this.imageProjection = new Linear(store, 'attention.imageProjection', 'attention', size, size);
    this.textToImage = new Linear(store, 'attention.textToImage', 'attention', size, size, false);
    this.textProjection = new Linear(store, 'attention.textProjection', 'attention', size, size);
    this.imageToText = new Linear(store, 'attention.imageToText', 'attention', size, size, false);
    // The score vector w and bias b. The two-score variant gives each modality its own.
    this.imageScore = new Linear(store, 'attention.score', 'attention', size, 1);
    this.textScore =
      config.variant === 'joint' ? this.imageScore : new Linear(store, 'attention.textScore', 'attention', size, 1);
  }

  /**
   * image: V, B x G x C. text: S, B x N x D. sentenceMask: B x N, 1 where a sentence is present.
   */
  apply(image: tf.Tensor3D, text: tf.Tensor3D, sentenceMask: tf.Tensor2D, forwardContext: ForwardContext): AttentionOutput {
    const context = partContext(forwardContext, 'attention');
    const rate = this.config.dropout;
    const imageEmbedding = tf.tanh(this.embedImage.apply(dropout(image, rate, context))) as tf.Tensor3D;
    const textEmbedding = tf.tanh(this.embedText.apply(dropout(text, rate, context))) as tf.Tensor3D;

    const meanImage = tf.mean(imageEmbedding, 1) as tf.Tensor2D;
    const mask3d = tf.expandDims(sentenceMask, 2);
    const sentenceCount = tf.maximum(tf.sum(sentenceMask, 1, true), 1);
    const meanText = tf.div(tf.sum(tf.mul(textEmbedding, mask3d), 1), sentenceCount) as tf.Tensor2D;

    // z_sv = tanh(W_v V′ + W_s2 mean(S′)), z_vs = tanh(W_s S′ + W_v2 mean(V′)): B x G x M and B x N x M.
    const imageHidden = tf.tanh(
      tf.add(this.imageProjection.apply(imageEmbedding), tf.expandDims(this.textToImage.apply(meanText), 1)),
    );
    const textHidden = tf.tanh(
      tf.add(this.textProjection.apply(textEmbedding), tf.expandDims(this.imageToText.apply(meanImage), 1)),
    );
    const imageScores = tf.squeeze(this.imageScore.apply(imageHidden), [2]) as tf.Tensor2D;
    const textScores = tf.add(
      tf.squeeze(this.textScore.apply(textHidden), [2]),
      tf.mul(tf.sub(1, sentenceMask), MASKED_SCORE),
    ) as tf.Tensor2D;

    let imageWeights: tf.Tensor2D;
    let textWeights: tf.Tensor2D;
    if (this.config.variant === 'separate') {
      imageWeights = tf.softmax(imageScores);
      // A report with no sentence gets no text weight at all instead of a uniform one over empty slots.
      textWeights = tf.mul(tf.softmax(textScores), sentenceMask);
    } else {
      // One softmax over the G + N positions, so image regions and sentences compete for the same weight.
      const positions = imageScores.shape[1];
      const weights = tf.softmax(tf.concat([imageScores, textScores], 1));
      [imageWeights, textWeights] = tf.split(weights, [positions, textScores.shape[1]], 1) as [tf.Tensor2D, tf.Tensor2D];
    }

    const attendedImage = tf.sum(tf.mul(imageEmbedding, tf.expandDims(imageWeights, 2)), 1);
    const attendedText = tf.sum(tf.mul(textEmbedding, tf.expandDims(textWeights, 2)), 1);
    return {
      context: tf.add(attendedImage, attendedText) as tf.Tensor2D,
      meanImage,
      imageWeights,
      textWeights,
    };
  }
}
