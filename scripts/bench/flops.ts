/**
 * An analytic count of the floating-point operations of one TandemNet training step, from the layer
 * shapes alone, so that tfjs and PyTorch runs of the same shapes are divided by the same number.
 *
 * Only the matrix products are counted, at 2 operations per multiply-add: convolutions, the LSTM's
 * gate product, the attention's linear maps and the classifier. A forward product counts once, and its
 * backward pass twice (the gradient of its input and of its weights), except that the stem's input
 * gradient is never computed, so the stem counts twice in all. Batch norm, activations, softmax, the
 * optimisers and the LSTM's element-wise gate arithmetic are left out: they are memory-bound and small
 * next to the products.
 */

/** The shapes that the count depends on. */
export interface FlopShape {
  /** Side of the square input image in pixels. */
  imageSize: number;
  /** WRN depth (6n + 4) and widen factor. */
  depth: number;
  widenFactor: number;
  /** K and D of the LSTM. */
  embeddingSize: number;
  hiddenSize: number;
  /** M of the dual attention. */
  attentionSize: number;
  /** T: LSTM time steps per report. */
  steps: number;
  /** N: sentence slots per report. */
  sentences: number;
  classes: number;
}

/** Operations per sample of one training step, in all and by model part. */
export interface FlopCount {
  total: number;
  cnn: number;
  lstm: number;
  attention: number;
}

/** Output side of a convolution with TensorFlow's SAME padding (and PyTorch's padding (k - 1) / 2 for odd k). */
function outputSide(side: number, stride: number): number {
  return Math.ceil(side / stride);
}

/** Forward operations per sample of a k x k convolution producing side x side x outChannels. */
function convolution(side: number, kernel: number, inChannels: number, outChannels: number): number {
  return 2 * side * side * kernel * kernel * inChannels * outChannels;
}

/** Counts the operations per sample of one training step (forward and backward) of TandemNet. */
export function countTrainingFlops(shape: FlopShape): FlopCount {
  const stemSide = outputSide(shape.imageSize, 4);
  const stem = convolution(stemSide, 7, 3, 16);
  let cnnForward = 0;
  let side = stemSide;
  let channels = 16;
  const blocksPerStage = (shape.depth - 4) / 6;
  [16, 32, 64].forEach((base, stage) => {
    const width = base * shape.widenFactor;
    for (let block = 0; block < blocksPerStage; block++) {
      const stride = block === 0 && stage > 0 ? 2 : 1;
      const blockSide = outputSide(side, stride);
      cnnForward += convolution(blockSide, 3, channels, width) + convolution(blockSide, 3, width, width);
      if (channels !== width || stride !== 1) cnnForward += convolution(blockSide, 1, channels, width);
      side = blockSide;
      channels = width;
    }
  });
  const cnn = 2 * stem + 3 * cnnForward;

  const { embeddingSize, hiddenSize, attentionSize: size, steps, sentences, classes } = shape;
  const lstm = 3 * steps * 2 * (embeddingSize + hiddenSize) * 4 * hiddenSize;

  const positions = side * side;
  const attentionForward =
    2 * positions * channels * size +
    2 * sentences * hiddenSize * size +
    2 * (positions + sentences) * size * size +
    2 * 2 * size * size +
    2 * (positions + sentences) * size +
    2 * size * classes;
  const attention = 3 * attentionForward;
  return { total: cnn + lstm + attention, cnn, lstm, attention };
}
