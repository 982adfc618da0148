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
