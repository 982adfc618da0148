/**
 * The model's trainable parameters and buffers, each created from the run's seeded Random so that the
 * same seed gives the same initial weights on every backend.
 */
import * as tf from '@tensorflow/tfjs';
import type { Random } from '../random.ts';

/** The model parts that get their own optimiser, learning rate and gradient treatment. */
export type ModelPart = 'cnn' | 'text' | 'attention' | 'classifier';
export const MODEL_PARTS: readonly ModelPart[] = ['cnn', 'text', 'attention', 'classifier'];

/** How a parameter's initial values are drawn. */
export type Initializer =
  /** He initialisation, N(0, 2 / fan), with fan the fan-in or fan-out of the layer. */
  | { kind: 'he-normal'; fan: number }
  | { kind: 'uniform'; limit: number }
  | { kind: 'normal'; std: number }
  | { kind: 'constant'; value: number };

interface Entry {
  variable: tf.Variable;
  part: ModelPart;
  trainable: boolean;
}

/** Every parameter and buffer of a model, by unique name. */
export class ParameterStore {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly random: Random) {}

  /** Create a trainable parameter of `shape`, initialised from this store's Random. */
  parameter(name: string, shape: number[], part: ModelPart, init: Initializer): tf.Variable {
    return this.add(name, shape, part, init, true);
  }

  /** Create a non-trainable buffer, such as batch-norm running statistics. */
  buffer(name: string, shape: number[], part: ModelPart, value: number): tf.Variable {
    return this.add(name, shape, part, { kind: 'constant', value }, false);
  }

  private add(name: string, shape: number[], part: ModelPart, init: Initializer, trainable: boolean): tf.Variable {
    if (this.entries.has(name)) throw new Error(`Parameter "${name}" is defined twice.`);
    const size = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    // Each parameter gets its own stream, so adding a parameter never changes another one's values.
    const random = this.random.fork(name);
    switch (init.kind) {
      case 'he-normal': {
        const std = Math.sqrt(2 / init.fan);
        for (let i = 0; i < size; i++) values[i] = random.normal() * std;
        break;
      }
      case 'uniform':
        for (let i = 0; i < size; i++) values[i] = random.uniform(-init.limit, init.limit);
        break;
      case 'normal':
        for (let i = 0; i < size; i++) values[i] = random.normal() * init.std;
        break;
      case 'constant':
        values.fill(init.value);
        break;
    }
    const variable = tf.variable(tf.tensor(values, shape, 'float32'), trainable, `${name}_${variableCounter++}`);
    this.entries.set(name, { variable, part, trainable });
    return variable;
  }

  /** Trainable parameters, optionally of one part, in creation order. */
  trainable(part?: ModelPart): tf.Variable[] {
    return [...this.entries.values()].filter((e) => e.trainable && (!part || e.part === part)).map((e) => e.variable);
  }

  /** The part that a trainable variable belongs to, looked up by its tfjs name. */
  partOf(variable: tf.Variable): ModelPart {
    for (const entry of this.entries.values()) if (entry.variable === variable) return entry.part;
    throw new Error(`Variable ${variable.name} does not belong to this model.`);
  }

  /** Number of trainable scalars, in all and per part. */
  countParameters(): { total: number; byPart: Record<ModelPart, number> } {
    const byPart: Record<ModelPart, number> = { cnn: 0, text: 0, attention: 0, classifier: 0 };
    for (const entry of this.entries.values()) if (entry.trainable) byPart[entry.part] += entry.variable.size;
    return { total: Object.values(byPart).reduce((a, b) => a + b, 0), byPart };
  }

  /** Every parameter and buffer by name, for snapshots and checkpoints. */
  named(): [string, tf.Variable][] {
    return [...this.entries.entries()].map(([name, entry]) => [name, entry.variable]);
  }

  /** Copy every value out of the backend, so that a later epoch's updates do not change the copy. */
  snapshot(): Map<string, Float32Array> {
    const copy = new Map<string, Float32Array>();
    for (const [name, variable] of this.named()) copy.set(name, (variable.dataSync() as Float32Array).slice());
    return copy;
  }

  /** Restore values taken by `snapshot`. */
  restore(snapshot: Map<string, Float32Array>): void {
    for (const [name, variable] of this.named()) {
      const values = snapshot.get(name);
      if (!values) throw new Error(`Snapshot has no value for parameter "${name}".`);
      tf.tidy(() => variable.assign(tf.tensor(values, variable.shape, 'float32')));
    }
  }

  dispose(): void {
    for (const entry of this.entries.values()) entry.variable.dispose();
    this.entries.clear();
  }
}

// tfjs variable names are global per process; a counter keeps two models (e.g. in tests) from colliding.
let variableCounter = 0;
