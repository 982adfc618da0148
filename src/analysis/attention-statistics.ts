/**
 * Attention statistics over a test set: how much text attention each sentence type draws for each true
 * label, and how the attention divides between the report and the image.
 */
import type { Predictions } from '../evaluate/evaluate.ts';

/** Mean text attention of one sentence type over the test images of one true label. */
export interface TypeAttention {
  label: string;
  type: string;
  /** Mean attention weight of the sentences of this type; null when there are none. */
  meanWeight: number | null;
  /**
   * Mean of each sentence's weight divided by the mean weight of its report's sentences, so 1 is an
   * average sentence of its report. Null when there are none. Unlike meanWeight, it does not depend on
   * how many sentences a report has or on how much attention the report as a whole draws.
   */
  meanRelativeWeight: number | null;
  /** Sentences behind the means. */
  sentences: number;
  /** Images that have at least one sentence of this type. */
  images: number;
}

/** Split of the attention between text and image, averaged over the test images of one true label. */
export interface AttentionShare {
  label: string;
  images: number;
  /** Mean over the images of text weight / (text weight + image weight); null for a label with no images. */
  meanTextShare: number | null;
  /** Mean over the images of image weight / (text weight + image weight); null for a label with no images. */
  meanImageShare: number | null;
}

export interface AttentionStatistics {
  classes: string[];
  /** The sentence types found in the reports, sorted. */
  sentenceTypes: string[];
  /** With text: one entry per label and sentence type, labels in class order and types sorted. */
  byType: TypeAttention[];
  /** Without text every sentence slot contains S = 0, so the text share is the attention the empty slots draw. */
  shareWithoutText: AttentionShare[];
  /** Null for a model that reads no text. */
  shareWithText: AttentionShare[] | null;
}

/** The fields of a prediction run that attention statistics read. */
export type AttentionPredictions = Pick<
  Predictions,
  'labels' | 'sentenceTypes' | 'sentenceWeights' | 'textAttentionShare' | 'imageWeights' | 'featureMap'
>;

/**
 * Compute the mean text attention weight of each sentence type for each true label, over the present
 * sentences of `predictions` (made with text).
 */
export function attentionByType(predictions: AttentionPredictions, classes: string[]): TypeAttention[] {
  const types = [...new Set(predictions.sentenceTypes.flat())].sort();
  const cells = new Map<string, { weightSum: number; relativeSum: number; sentences: number; images: Set<number> }>();
  const key = (label: number, type: string) => `${label}\u0000${type}`;

  predictions.labels.forEach((label, sample) => {
    const weights = predictions.sentenceWeights[sample];
    const sentenceTypes = predictions.sentenceTypes[sample];
    if (weights.length !== sentenceTypes.length) {
      throw new RangeError(`Sample ${sample} has ${weights.length} sentence weights but ${sentenceTypes.length} sentence types.`);
    }
    const meanOfReport = weights.reduce((a, b) => a + b, 0) / weights.length;
    weights.forEach((weight, sentence) => {
      const cellKey = key(label, sentenceTypes[sentence]);
      const cell = cells.get(cellKey) ?? { weightSum: 0, relativeSum: 0, sentences: 0, images: new Set<number>() };
      cell.weightSum += weight;
      // A report whose sentences all have weight 0 counts each of them as average.
      cell.relativeSum += meanOfReport > 0 ? weight / meanOfReport : 1;
      cell.sentences += 1;
      cell.images.add(sample);
      cells.set(cellKey, cell);
    });
  });

  const result: TypeAttention[] = [];
  classes.forEach((label, labelIndex) => {
    for (const type of types) {
      const cell = cells.get(key(labelIndex, type));
      result.push({
        label,
        type,
        meanWeight: cell ? cell.weightSum / cell.sentences : null,
        meanRelativeWeight: cell ? cell.relativeSum / cell.sentences : null,
        sentences: cell?.sentences ?? 0,
        images: cell?.images.size ?? 0,
      });
    }
  });
  return result;
}

/**
 * Compute the mean share of attention on text and on the image for each true label. Each image's shares
 * are its summed text weights and summed image weights, each divided by their total. They therefore also
 * sum to 1 when the attention variant normalises the two modalities separately.
 */
export function attentionShares(predictions: AttentionPredictions, classes: string[]): AttentionShare[] {
  const positions = predictions.featureMap.height * predictions.featureMap.width;
  const sums = classes.map(() => ({ text: 0, image: 0, images: 0 }));
  predictions.labels.forEach((label, sample) => {
    let imageTotal = 0;
    for (let p = sample * positions; p < (sample + 1) * positions; p++) imageTotal += predictions.imageWeights[p];
    const textTotal = predictions.textAttentionShare[sample];
    const total = textTotal + imageTotal;
    sums[label].text += total > 0 ? textTotal / total : 0;
    sums[label].image += total > 0 ? imageTotal / total : 0;
    sums[label].images += 1;
  });
  return classes.map((label, index) => {
    const { text, image, images } = sums[index];
    return {
      label,
      images,
      meanTextShare: images === 0 ? null : text / images,
      meanImageShare: images === 0 ? null : image / images,
    };
  });
}

/**
 * Compute all attention statistics of one test set from its predictions without and with text. With
 * `withText` null (a model that reads no text) there are no sentence types and no with-text shares.
 */
export function attentionStatistics(
  withoutText: AttentionPredictions,
  withText: AttentionPredictions | null,
  classes: string[],
): AttentionStatistics {
  return {
    classes,
    sentenceTypes: withText ? [...new Set(withText.sentenceTypes.flat())].sort() : [],
    byType: withText ? attentionByType(withText, classes) : [],
    shareWithoutText: attentionShares(withoutText, classes),
    shareWithText: withText && attentionShares(withText, classes),
  };
}
