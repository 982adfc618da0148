/**
 * The two optimisers TandemNet trains with. They are written out here, rather than taken from tf.train,
 * so that the learning rate can decay per epoch and their state can be saved with a checkpoint.
 */
import * as tf from '@tensorflow/tfjs';

/** Updates a fixed list of variables from their gradients. */
export interface Optimizer {
  learningRate: number;
  /** Apply one update; `gradients[i]` belongs to `variables[i]`. */
  step(gradients: tf.Tensor[]): void;
  /** Every state tensor, by name, for checkpoints. */
  state(): [string, tf.Variable][];
  dispose(): void;
}

/**
 * SGD with momentum and L2 weight decay in Torch's formulation:
 * d = g + weightDecay * w; v = momentum * v + d; w = w - learningRate * v.
 */
export class SgdMomentum implements Optimizer {
  private readonly velocity: tf.Variable[];

  constructor(
    private readonly variables: tf.Variable[],
    public learningRate: number,
    private readonly momentum: number,
    private readonly weightDecay: number,
  ) {
    this.velocity = variables.map((v) => tf.variable(tf.zerosLike(v), false));
  }

  step(gradients: tf.Tensor[]): void {
    tf.tidy(() => {
      this.variables.forEach((variable, i) => {
        const direction = this.weightDecay > 0 ? tf.add(gradients[i], tf.mul(variable, this.weightDecay)) : gradients[i];
        const velocity = tf.add(tf.mul(this.velocity[i], this.momentum), direction);
        this.velocity[i].assign(velocity);
        variable.assign(tf.sub(variable, tf.mul(velocity, this.learningRate)));
      });
    });
  }

  state(): [string, tf.Variable][] {
    return this.velocity.map((v, i) => [`velocity.${i}`, v]);
  }

  dispose(): void {
    tf.dispose(this.velocity);
  }
}

/** Adam (Kingma and Ba, 2015) with bias correction, as in Torch's optim.adam and PyTorch. */
export class Adam implements Optimizer {
  private readonly firstMoment: tf.Variable[];
  private readonly secondMoment: tf.Variable[];
  private steps = 0;

  constructor(
    private readonly variables: tf.Variable[],
    public learningRate: number,
    private readonly beta1: number,
    private readonly beta2: number,
    private readonly epsilon: number,
  ) {
    this.firstMoment = variables.map((v) => tf.variable(tf.zerosLike(v), false));
    this.secondMoment = variables.map((v) => tf.variable(tf.zerosLike(v), false));
  }

  step(gradients: tf.Tensor[]): void {
    this.steps += 1;
    const correction1 = 1 - this.beta1 ** this.steps;
    const correction2 = 1 - this.beta2 ** this.steps;
    const stepSize = (this.learningRate * Math.sqrt(correction2)) / correction1;
    tf.tidy(() => {
      this.variables.forEach((variable, i) => {
        const gradient = gradients[i];
        const first = tf.add(tf.mul(this.firstMoment[i], this.beta1), tf.mul(gradient, 1 - this.beta1));
        const second = tf.add(tf.mul(this.secondMoment[i], this.beta2), tf.mul(tf.square(gradient), 1 - this.beta2));
        this.firstMoment[i].assign(first);
        this.secondMoment[i].assign(second);
        // PyTorch's form, epsilon * sqrt(correction2) here equals epsilon added to the bias-corrected sqrt(v).
        const denominator = tf.add(tf.sqrt(second), this.epsilon * Math.sqrt(correction2));
        variable.assign(tf.sub(variable, tf.mul(tf.div(first, denominator), stepSize)));
      });
    });
  }

  /** Number of updates applied so far (the bias-correction step count). */
  get stepCount(): number {
    return this.steps;
  }

  set stepCount(value: number) {
    this.steps = value;
  }

  state(): [string, tf.Variable][] {
    return [
      ...this.firstMoment.map((v, i): [string, tf.Variable] => [`firstMoment.${i}`, v]),
      ...this.secondMoment.map((v, i): [string, tf.Variable] => [`secondMoment.${i}`, v]),
    ];
  }

  dispose(): void {
    tf.dispose(this.firstMoment);
    tf.dispose(this.secondMoment);
  }
}

/** Scale `gradients` so that their joint L2 norm is at most `maxNorm`; returns the norm before clipping. */
export function clipByGlobalNorm(gradients: tf.Tensor[], maxNorm: number): { clipped: tf.Tensor[]; norm: number } {
  if (gradients.length === 0) return { clipped: [], norm: 0 };
  const normTensor = tf.tidy(() => tf.sqrt(tf.addN(gradients.map((g) => tf.sum(tf.square(g))))));
  const norm = normTensor.dataSync()[0];
  normTensor.dispose();
  if (!(norm > maxNorm)) return { clipped: gradients.map((g) => tf.clone(g)), norm };
  const scale = maxNorm / norm;
  return { clipped: gradients.map((g) => tf.mul(g, scale)), norm };
}
