/**
 * Detection of a diverged training run: a NaN or infinite loss, or a NaN or infinity in a parameter or
 * buffer.
 */
import * as tf from '@tensorflow/tfjs';
import type { ParameterStore } from '../model/parameters.ts';

/** The place and cause of a divergence. */
export interface Divergence {
  /** 1-based epoch of the step that diverged. */
  epoch: number;
  /** 1-based mini-batch within that epoch. */
  step: number;
  /** The finding, e.g. "the training loss is NaN". */
  reason: string;
}

/**
 * Check one training step: its loss, then every parameter and buffer after the update. Returns the
 * divergence, or null when everything is finite.
 */
export function checkStep(loss: number, store: ParameterStore, epoch: number, step: number): Divergence | null {
  if (!Number.isFinite(loss)) return { epoch, step, reason: `the training loss is ${loss}` };
  const parameter = findNonFiniteParameter(store);
  if (parameter !== null) return { epoch, step, reason: `parameter ${parameter} has a NaN or infinite value` };
  return null;
}

/** Find the first parameter or buffer with a NaN or an infinity and return its name; null when every value is finite. */
export function findNonFiniteParameter(store: ParameterStore): string | null {
  const named = store.named();
  if (named.length === 0) return null;
  // x * 0 is 0 for every finite x and NaN for NaN and the infinities. So one sum over all tensors finds
  // any of them with a single read-back, and it cannot overflow the way a sum of the values could.
  const total = tf.tidy(() => tf.addN(named.map(([, variable]) => tf.sum(tf.mul(variable, 0)))));
  const allFinite = total.dataSync()[0] === 0;
  total.dispose();
  if (allFinite) return null;

  for (const [name, variable] of named) {
    const values = variable.dataSync();
    for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return name;
  }
  return null;
}
