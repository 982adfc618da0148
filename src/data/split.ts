/**
 * Patient grouping, the balanced subsample behind `data.maxImages`, and the stratified patient-level
 * split into training, validation and test sets.
 */
import type { DataConfig } from '../config/schema.ts';
import { Random } from '../random.ts';
import { SPLIT_NAMES, type DatasetEntry } from './types.ts';
import { compareStrings } from './vqa-rad.ts';

/** An image and the case URLs of its records, the input to patient grouping. */
export interface ImageCases {
  name: string;
  caseUrls: readonly string[];
}

/**
 * Group images into patients: the connected components of the graph whose nodes are images and case
 * URLs, with an edge between an image and each case URL of its records. No image and no case URL can then
 * belong to two patients. Returns a map from image name to patient id, the component's first case URL in
 * sorted order.
 */
export function groupPatients(images: readonly ImageCases[]): Map<string, string> {
  // Union-find over case URLs; each image joins all of its case URLs into one set.
  const parent = new Map<string, string>();
  const find = (node: string): string => {
    let rootNode = node;
    while (parent.get(rootNode) !== rootNode) rootNode = parent.get(rootNode)!;
    // Path compression keeps later look-ups short.
    let current = node;
    while (current !== rootNode) {
      const next = parent.get(current)!;
      parent.set(current, rootNode);
      current = next;
    }
    return rootNode;
  };
  const union = (a: string, b: string): void => {
    const rootA = find(a);
    const rootB = find(b);
    if (rootA === rootB) return;
    // The smaller URL becomes the set's representative, so the patient id does not depend on input order.
    if (compareStrings(rootA, rootB) < 0) parent.set(rootB, rootA);
    else parent.set(rootA, rootB);
  };

  for (const image of images) {
    if (image.caseUrls.length === 0) throw new Error(`Image ${image.name} has no case URL to group it by.`);
    for (const url of image.caseUrls) if (!parent.has(url)) parent.set(url, url);
    for (const url of image.caseUrls.slice(1)) union(image.caseUrls[0], url);
  }

  const patientOf = new Map<string, string>();
  for (const image of images) patientOf.set(image.name, find(image.caseUrls[0]));
  return patientOf;
}

/**
 * Pick `count` items balanced over `labelOf`: the classes take turns, in an order drawn from `random`,
 * each giving its next item from a seeded shuffle until `count` items are chosen. A class that runs out
 * leaves its turns to the others. Returns the chosen items in their input order, or all items when
 * `count` is at least their number.
 */
export function sampleBalanced<T>(items: readonly T[], count: number, labelOf: (item: T) => string, random: Random): T[] {
  if (count >= items.length) return [...items];

  const byLabel = new Map<string, number[]>();
  items.forEach((item, index) => {
    const label = labelOf(item);
    const indices = byLabel.get(label);
    if (indices) indices.push(index);
    else byLabel.set(label, [index]);
  });
  const labels = random.shuffle([...byLabel.keys()].sort(compareStrings));
  const queues = labels.map((label) => random.shuffle(byLabel.get(label)!));

  const chosen = new Set<number>();
  while (chosen.size < count) {
    for (const queue of queues) {
      const next = queue.shift();
      if (next !== undefined) chosen.add(next);
      if (chosen.size === count) break;
    }
  }
  return items.filter((_, index) => chosen.has(index));
}

/** Shares of patients held out; the same meaning as `data.split` in the config. */
export interface SplitFractions {
  /** Share of all patients in the test set. */
  testFraction: number;
  /** Share of the remaining patients in the validation set. */
  validationFraction: number;
}

/** Items divided into the three sets, each in input order. */
export interface Split<T> {
  train: T[];
  validation: T[];
  test: T[];
}

/**
 * Split items by patient so that all items of one patient land in the same set. Patients are stratified
 * by their label (the most common label of their items, ties going to the alphabetically first): within
 * each label, `testFraction` of the patients (rounded) go to test and `validationFraction` of the rest
 * (rounded) to validation. A label with at least 3 patients puts at least one patient into each set, so
 * every set has every such label. The result depends only on the items and the state of `random`.
 */
export function splitByPatient<T>(
  items: readonly T[],
  patientOf: (item: T) => string,
  labelOf: (item: T) => string,
  fractions: SplitFractions,
  random: Random,
): Split<T> {
  const labelCounts = new Map<string, Map<string, number>>();
  for (const item of items) {
    const patient = patientOf(item);
    const counts = labelCounts.get(patient) ?? new Map<string, number>();
    counts.set(labelOf(item), (counts.get(labelOf(item)) ?? 0) + 1);
    labelCounts.set(patient, counts);
  }

  const patientsByLabel = new Map<string, string[]>();
  for (const [patient, counts] of labelCounts) {
    const label = majorityLabel(counts);
    const patients = patientsByLabel.get(label) ?? [];
    patients.push(patient);
    patientsByLabel.set(label, patients);
  }

  const setOf = new Map<string, keyof Split<T>>();
  for (const label of [...patientsByLabel.keys()].sort(compareStrings)) {
    const patients = random.shuffle(patientsByLabel.get(label)!.sort(compareStrings));
    const total = patients.length;
    const testCount = clampShare(Math.round(total * fractions.testFraction), total, 2);
    const rest = total - testCount;
    const validationCount = clampShare(Math.round(rest * fractions.validationFraction), rest, 1);
    patients.forEach((patient, index) => {
      if (index < testCount) setOf.set(patient, 'test');
      else if (index < testCount + validationCount) setOf.set(patient, 'validation');
      else setOf.set(patient, 'train');
    });
  }

  const split: Split<T> = { train: [], validation: [], test: [] };
  for (const item of items) split[setOf.get(patientOf(item))!].push(item);
  return split;
}

/**
 * Clamp the number of patients held out of `total` so that `reserve` patients remain for the sets still
 * to fill (validation and train, or train alone) and, when that leaves any, at least one is held out.
 * With fewer than `reserve + 1` patients, only training is guaranteed a patient.
 */
function clampShare(count: number, total: number, reserve: number): number {
  if (total < reserve + 1) return Math.min(count, Math.max(total - 1, 0));
  return Math.min(Math.max(count, 1), total - reserve);
}

function majorityLabel(counts: Map<string, number>): string {
  let best = '';
  let bestCount = -1;
  for (const [label, count] of [...counts].sort((a, b) => compareStrings(a[0], b[0]))) {
    if (count > bestCount) {
      best = label;
      bestCount = count;
    }
  }
  return best;
}

/**
 * Choose the entries of a run and divide them into the three sets, as `loadData` does. Without splits
 * from the source (`hasSplits` false), data.maxImages takes a label-balanced sample from the seed's
 * 'max-images' stream and `splitByPatient` splits it with the 'split' stream. With splits from the source,
 * each entry stays in its set, and data.maxImages takes from each set a label-balanced sample of its share
 * of the images (at least one), drawn from the 'max-images' stream forked by the set's name.
 */
export function assignSplits(
  entries: readonly DatasetEntry[],
  hasSplits: boolean,
  data: Pick<DataConfig, 'maxImages' | 'split'>,
  seed: number,
): Split<DatasetEntry> {
  const seedRandom = new Random(seed);
  const labelOf = (entry: DatasetEntry) => entry.labelName;
  if (!hasSplits) {
    const chosen =
      data.maxImages === null ? [...entries] : sampleBalanced(entries, data.maxImages, labelOf, seedRandom.fork('max-images'));
    return splitByPatient(chosen, (entry) => entry.patientId, labelOf, data.split, seedRandom.fork('split'));
  }

  const split: Split<DatasetEntry> = { train: [], validation: [], test: [] };
  for (const name of SPLIT_NAMES) {
    const members = entries.filter((entry) => entry.split === name);
    if (data.maxImages === null || members.length === 0) {
      split[name] = members;
      continue;
    }
    const share = Math.max(1, Math.round((data.maxImages * members.length) / entries.length));
    split[name] = sampleBalanced(members, share, labelOf, seedRandom.fork('max-images').fork(name));
  }
  return split;
}
