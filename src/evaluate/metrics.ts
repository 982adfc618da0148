/**
 * Classification metrics computed from integer labels and predictions.
 */

/** A confusion matrix: `counts[true][predicted]`, with the class names in index order. */
export interface ConfusionMatrix {
  classes: string[];
  counts: number[][];
  /** counts divided by their row sums; a class with no samples has a row of zeros. */
  rates: number[][];
}

/** Share of predictions equal to the label; 0 for no samples. */
export function accuracy(labels: ArrayLike<number>, predictions: ArrayLike<number>): number {
  if (labels.length !== predictions.length) throw new Error('labels and predictions differ in length.');
  if (labels.length === 0) return 0;
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === predictions[i]) correct++;
  return correct / labels.length;
}

export function confusionMatrix(labels: ArrayLike<number>, predictions: ArrayLike<number>, classes: string[]): ConfusionMatrix {
  const counts = classes.map(() => classes.map(() => 0));
  for (let i = 0; i < labels.length; i++) counts[labels[i]][predictions[i]] += 1;
  const rates = counts.map((row) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((count) => (total === 0 ? 0 : count / total));
  });
  return { classes, counts, rates };
}

/** Index of the largest value in each row of a rows x columns matrix stored row-major. */
export function argMaxRows(values: ArrayLike<number>, columns: number): number[] {
  const rows = values.length / columns;
  const result: number[] = [];
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < columns; c++) if (values[r * columns + c] > values[r * columns + best]) best = c;
    result.push(best);
  }
  return result;
}

/** Precision, recall and F1 of one class, read from a confusion matrix. */
export interface ClassScores {
  class: string;
  /** True samples of the class (the row sum). */
  support: number;
  /** Of the samples predicted as this class, the share that belong to it; 0 when none was predicted. */
  precision: number;
  /** Of the samples of this class, the share predicted as it; 0 when the class has no samples. */
  recall: number;
  /** Harmonic mean of precision and recall; 0 when both are 0. */
  f1: number;
}

/** Per-class scores and their macro averages. */
export interface ClassificationReport {
  perClass: ClassScores[];
  accuracy: number;
  /**
   * Unweighted mean F1 over the classes that occur among the labels or the predictions. A class that
   * occurs in neither is left out, as scikit-learn's f1_score(average='macro') does by default.
   */
  macroF1: number;
  /** Unweighted mean recall over the classes that have samples, as scikit-learn's balanced_accuracy_score. */
  balancedAccuracy: number;
}

/** Compute per-class precision, recall and F1, macro-F1 and balanced accuracy from a confusion matrix. */
export function classificationReport(matrix: ConfusionMatrix): ClassificationReport {
  const size = matrix.classes.length;
  const rowSums = matrix.counts.map((row) => row.reduce((a, b) => a + b, 0));
  const columnSums = matrix.classes.map((_, column) => matrix.counts.reduce((sum, row) => sum + row[column], 0));
  const total = rowSums.reduce((a, b) => a + b, 0);

  const perClass: ClassScores[] = [];
  let correct = 0;
  for (let k = 0; k < size; k++) {
    const truePositives = matrix.counts[k][k];
    correct += truePositives;
    const precision = columnSums[k] === 0 ? 0 : truePositives / columnSums[k];
    const recall = rowSums[k] === 0 ? 0 : truePositives / rowSums[k];
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    perClass.push({ class: matrix.classes[k], support: rowSums[k], precision, recall, f1 });
  }

  const occurring = perClass.filter((_, k) => rowSums[k] > 0 || columnSums[k] > 0);
  const withSamples = perClass.filter((_, k) => rowSums[k] > 0);
  return {
    perClass,
    accuracy: total === 0 ? 0 : correct / total,
    macroF1: mean(occurring.map((scores) => scores.f1)),
    balancedAccuracy: mean(withSamples.map((scores) => scores.recall)),
  };
}

function mean(values: number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}
