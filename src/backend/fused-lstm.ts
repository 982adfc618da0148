/**
 * An LSTM over a whole batch of reports as one differentiable operation, which returns the hidden state
 * at each sentence's end-of-sentence token. Built from tfjs ops, the same network takes about a dozen
 * kernel calls per time step forward and twice that backward, and its weight gradient is computed and
 * accumulated once per step. Here only the matrix products run as tfjs kernels (XNNPACK on wasm): the
 * input projection of every step in one product, the recurrent product per step, and the weight
 * gradients in two products over all steps. The element-wise gate arithmetic of a step (B x 4D values)
 * runs in one JavaScript loop over Float32Arrays, and the gradient comes from backpropagation through
 * time written out here (tf.customGrad), so it runs on every backend.
 */
import * as tf from '@tensorflow/tfjs';

/** The shapes of one call. */
interface LstmShape {
  steps: number;
  batch: number;
  inputSize: number;
  hiddenSize: number;
}

/** The values that the forward pass keeps for the backward pass, per step t, sample b and unit j. */
interface ForwardState {
  /** [T, B, 4D]: input, forget, candidate and output gate values after their activations. */
  gates: Float32Array;
  /** [T, B, D]: cell state c_t. */
  cells: Float32Array;
  /** [T, B, D]: hidden state h_t. */
  hidden: Float32Array;
}

/**
 * Runs `compute` and returns the values of the tensor it returns, disposing every tensor it made. Unlike
 * returning the values from tf.tidy, this does not make tidy walk every index of a large typed array.
 */
function readResult(compute: () => tf.Tensor): Float32Array {
  const tensor = tf.tidy(compute);
  const values = tensor.dataSync() as Float32Array;
  tensor.dispose();
  return values;
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/**
 * Runs the recurrence: for t = 0..T-1, gates = x_t W_x + h_{t-1} W_h + bias, split into input i,
 * forget f, candidate g and output o (in that order along the 4D axis), c_t = sigmoid(f) c_{t-1} +
 * sigmoid(i) tanh(g), h_t = sigmoid(o) tanh(c_t), with h_{-1} = c_{-1} = 0.
 */
function runForward(projected: Float32Array, recurrentWeight: tf.Tensor2D, shape: LstmShape, lastStep: number): ForwardState {
  const { steps, batch, hiddenSize: size } = shape;
  const gateWidth = 4 * size;
  const gates = new Float32Array(steps * batch * gateWidth);
  const cells = new Float32Array(steps * batch * size);
  const hidden = new Float32Array(steps * batch * size);

  for (let t = 0; t <= lastStep; t++) {
    let recurrent: Float32Array | null = null;
    if (t > 0) {
      const previous = hidden.subarray((t - 1) * batch * size, t * batch * size);
      recurrent = readResult(() => tf.matMul(tf.tensor2d(previous, [batch, size]), recurrentWeight));
    }
    for (let b = 0; b < batch; b++) {
      const gateRow = (t * batch + b) * gateWidth;
      const recurrentRow = b * gateWidth;
      const stateRow = (t * batch + b) * size;
      const previousRow = ((t - 1) * batch + b) * size;
      for (let j = 0; j < size; j++) {
        let input = projected[gateRow + j];
        let forget = projected[gateRow + size + j];
        let candidate = projected[gateRow + 2 * size + j];
        let output = projected[gateRow + 3 * size + j];
        if (recurrent !== null) {
          input += recurrent[recurrentRow + j];
          forget += recurrent[recurrentRow + size + j];
          candidate += recurrent[recurrentRow + 2 * size + j];
          output += recurrent[recurrentRow + 3 * size + j];
        }
        const i = sigmoid(input);
        const f = sigmoid(forget);
        const g = Math.tanh(candidate);
        const o = sigmoid(output);
        const cell = i * g + (t > 0 ? f * cells[previousRow + j] : 0);
        gates[gateRow + j] = i;
        gates[gateRow + size + j] = f;
        gates[gateRow + 2 * size + j] = g;
        gates[gateRow + 3 * size + j] = o;
        cells[stateRow + j] = cell;
        hidden[stateRow + j] = o * Math.tanh(cells[stateRow + j]);
      }
    }
  }
  return { gates, cells, hidden };
}

/**
 * Backpropagates `hiddenGradient` ([T, B, D], the loss's gradient for each h_t) through time and returns
 * the gradient of the loss for each step's gate pre-activations, [T, B, 4D].
 */
function runBackward(
  state: ForwardState,
  hiddenGradient: Float32Array,
  recurrentWeightTransposed: tf.Tensor2D,
  shape: LstmShape,
  lastStep: number,
): Float32Array {
  const { steps, batch, hiddenSize: size } = shape;
  const gateWidth = 4 * size;
  const { gates, cells } = state;
  const gateGradient = new Float32Array(steps * batch * gateWidth);
  // The gradients that flow from step t + 1 back into h_t and c_t.
  let hiddenCarry: Float32Array = new Float32Array(batch * size);
  const cellCarry = new Float32Array(batch * size);

  for (let t = lastStep; t >= 0; t--) {
    for (let b = 0; b < batch; b++) {
      const gateRow = (t * batch + b) * gateWidth;
      const stateRow = (t * batch + b) * size;
      const previousRow = ((t - 1) * batch + b) * size;
      for (let j = 0; j < size; j++) {
        const i = gates[gateRow + j];
        const f = gates[gateRow + size + j];
        const g = gates[gateRow + 2 * size + j];
        const o = gates[gateRow + 3 * size + j];
        const cellTanh = Math.tanh(cells[stateRow + j]);
        const dHidden = hiddenGradient[stateRow + j] + hiddenCarry[b * size + j];
        const dCell = cellCarry[b * size + j] + dHidden * o * (1 - cellTanh * cellTanh);
        const previousCell = t > 0 ? cells[previousRow + j] : 0;
        gateGradient[gateRow + j] = dCell * g * i * (1 - i);
        gateGradient[gateRow + size + j] = dCell * previousCell * f * (1 - f);
        gateGradient[gateRow + 2 * size + j] = dCell * i * (1 - g * g);
        gateGradient[gateRow + 3 * size + j] = dHidden * cellTanh * o * (1 - o);
        cellCarry[b * size + j] = dCell * f;
      }
    }
    if (t > 0) {
      const stepGradient = gateGradient.subarray(t * batch * gateWidth, (t + 1) * batch * gateWidth);
      hiddenCarry = readResult(() => tf.matMul(tf.tensor2d(stepGradient, [batch, gateWidth]), recurrentWeightTransposed));
    }
  }
  return gateGradient;
}

/**
 * Returns the LSTM's hidden state at given steps of each sequence: S [B, N, D] with S[b, n] =
 * h_{sentenceSteps[b N + n]} of sample b, or zeros where that entry is -1 (an absent sentence).
 *
 * inputs: [T, B, K], the input vectors x_t of every step. weight: [K + D, 4D], the rows for x_t first,
 * then those for h_{t-1}; the columns hold the input, forget, candidate and output gates. bias: [4D].
 * sentenceSteps: B x N step indices in [0, T) or -1. Steps after the last listed one change no output,
 * so they are not computed. Differentiable for inputs, weight and bias.
 */
export function lstmSentenceStates(
  inputs: tf.Tensor3D,
  weight: tf.Tensor2D,
  bias: tf.Tensor1D,
  sentenceSteps: Int32Array,
  sentences: number,
): tf.Tensor3D {
  const [steps, batch, inputSize] = inputs.shape;
  const hiddenSize = weight.shape[1] / 4;
  if (!Number.isInteger(hiddenSize) || weight.shape[0] !== inputSize + hiddenSize || bias.shape[0] !== 4 * hiddenSize) {
    throw new Error(
      `lstmSentenceStates: weight ${weight.shape} and bias ${bias.shape} do not fit inputs ${inputs.shape}; ` +
        'expected [K + D, 4D] and [4D] for inputs [T, B, K].',
    );
  }
  if (sentenceSteps.length !== batch * sentences) {
    throw new Error(`lstmSentenceStates: sentenceSteps has ${sentenceSteps.length} entries, expected B x N = ${batch * sentences}.`);
  }
  let lastStep = -1;
  for (const step of sentenceSteps) {
    if (step < -1 || step >= steps || !Number.isInteger(step)) {
      throw new Error(`lstmSentenceStates: sentence step ${step} lies outside [-1, ${steps}).`);
    }
    lastStep = Math.max(lastStep, step);
  }
  const shape: LstmShape = { steps, batch, inputSize, hiddenSize };

  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, w, b, save] = args as [tf.Tensor3D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    const inputWeight = tf.slice(w, [0, 0], [inputSize, 4 * hiddenSize]);
    const recurrentWeight = tf.slice(w, [inputSize, 0], [hiddenSize, 4 * hiddenSize]);
    const projected = readResult(() => tf.add(tf.matMul(tf.reshape(x, [steps * batch, inputSize]) as tf.Tensor2D, inputWeight), b));
    const state = runForward(projected, recurrentWeight, shape, lastStep);

    const output = new Float32Array(batch * sentences * hiddenSize);
    for (let sample = 0; sample < batch; sample++) {
      for (let slot = 0; slot < sentences; slot++) {
        const step = sentenceSteps[sample * sentences + slot];
        if (step < 0) continue;
        const source = (step * batch + sample) * hiddenSize;
        output.set(state.hidden.subarray(source, source + hiddenSize), (sample * sentences + slot) * hiddenSize);
      }
    }
    save([x, inputWeight, recurrentWeight]);

    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [savedInputs, savedInputWeight, savedRecurrentWeight] = saved as [tf.Tensor3D, tf.Tensor2D, tf.Tensor2D];
      const outputGradient = dy.dataSync();
      // Route each sentence's gradient to the step whose hidden state it is.
      const hiddenGradient = new Float32Array(steps * batch * hiddenSize);
      for (let sample = 0; sample < batch; sample++) {
        for (let slot = 0; slot < sentences; slot++) {
          const step = sentenceSteps[sample * sentences + slot];
          if (step < 0) continue;
          const target = (step * batch + sample) * hiddenSize;
          const source = (sample * sentences + slot) * hiddenSize;
          for (let j = 0; j < hiddenSize; j++) hiddenGradient[target + j] += outputGradient[source + j];
        }
      }
      return tf.tidy(() => {
        const recurrentTransposed = tf.transpose(savedRecurrentWeight);
        const gateGradient = runBackward(state, hiddenGradient, recurrentTransposed, shape, lastStep);
        const flatGates = tf.tensor2d(gateGradient, [steps * batch, 4 * hiddenSize]);
        const flatInputs = tf.reshape(savedInputs, [steps * batch, inputSize]) as tf.Tensor2D;
        // h_{t-1} of every step, with h_{-1} = 0.
        const previousHidden = new Float32Array(steps * batch * hiddenSize);
        previousHidden.set(state.hidden.subarray(0, (steps - 1) * batch * hiddenSize), batch * hiddenSize);
        const flatPrevious = tf.tensor2d(previousHidden, [steps * batch, hiddenSize]);
        const inputWeightGradient = tf.matMul(flatInputs, flatGates, true, false);
        const recurrentWeightGradient = tf.matMul(flatPrevious, flatGates, true, false);
        const inputGradient = tf.reshape(tf.matMul(flatGates, savedInputWeight, false, true), [steps, batch, inputSize]);
        return [inputGradient, tf.concat([inputWeightGradient, recurrentWeightGradient], 0), tf.sum(flatGates, 0)];
      });
    };
    return { value: tf.tensor3d(output, [batch, sentences, hiddenSize]), gradFunc };
  });
  return run(inputs, weight, bias) as tf.Tensor3D;
}
