/**
 * The data checks that `tandem data check` runs and `tandem run` runs before training: problems across
 * entries (duplicates, labels, splits) and problems of image files, each located at its line.
 */
import type { DataConfig } from '../config/schema.ts';
import { DEFAULT_DECODE_CONCURRENCY, decodeImageWithInfo, ImageFileError, probeImageFile, type ImageInfo } from './images.ts';
import { closestName, type DataProblem } from './problems.ts';
import type { Split } from './split.ts';
import { SPLIT_NAMES, type DataSource, type DatasetEntry, type SplitName } from './types.ts';
import { compareStrings } from './vqa-rad.ts';

/** Return the class names of a data set: data.labels when set, else the distinct labels of `entries`, sorted. */
export function classNames(entries: readonly DatasetEntry[], labels: readonly string[] | null): string[] {
  if (labels !== null) return [...labels];
  return [...new Set(entries.map((entry) => entry.labelName))].sort(compareStrings);
}

/**
 * Check the entries against each other and against the config: duplicate ids and images, labels outside
 * data.labels, labels without images, and, when the source gives the split, patients in two sets and
 * labels missing from a set. Does not touch the file system.
 */
export function checkEntries(source: DataSource, data: Pick<DataConfig, 'labels'>): DataProblem[] {
  const problems: DataProblem[] = [];
  const error = (line: number, code: DataProblem['code'], message: string) =>
    problems.push({ file: source.file, line, code, message, severity: 'error' });

  const lineOfId = new Map<string, number>();
  const entryOfImage = new Map<string, DatasetEntry>();
  for (const entry of source.entries) {
    const earlier = lineOfId.get(entry.id);
    if (earlier !== undefined) {
      error(
        entry.line,
        'duplicate-id',
        `id "${entry.id}" is already used at line ${earlier}. Every row needs its own id` +
          `${source.kind === 'manifest' ? ' (the image path when the row gives no id)' : ''}: remove the repeated row or give it another id.`,
      );
    } else {
      lineOfId.set(entry.id, entry.line);
      const sameImage = entryOfImage.get(entry.imagePath);
      if (sameImage !== undefined) {
        error(
          entry.line,
          'duplicate-image',
          `image "${entry.image}" is already listed at line ${sameImage.line} (id "${sameImage.id}"). List each image ` +
            'once, with all its reports in that row.',
        );
      } else {
        entryOfImage.set(entry.imagePath, entry);
      }
    }
  }

  if (data.labels !== null) {
    const labels = data.labels;
    for (const entry of source.entries) {
      if (labels.includes(entry.labelName)) continue;
      const match = closestName(entry.labelName, labels);
      error(
        entry.line,
        'unknown-label',
        `label "${entry.labelName}" is not in data.labels (${labels.join(', ')})` +
          `${match ? `; did you mean "${match}"?` : '. Add it to data.labels or correct the row.'}`,
      );
    }
    const present = new Set(source.entries.map((entry) => entry.labelName));
    for (const label of labels) {
      if (present.has(label)) continue;
      problems.push({
        file: source.file,
        line: 0,
        code: 'label-without-images',
        message: `label "${label}" of data.labels has no image, so the classifier never sees it in training.`,
        severity: 'warning',
      });
    }
  }

  if (data.labels === null) problems.push(...checkSimilarLabels(source));
  if (source.hasSplits) problems.push(...checkGivenSplits(source));
  return problems;
}

/** Warn about labels that differ only in case or spacing, such as "Chest" beside "CHEST". */
function checkSimilarLabels(source: DataSource): DataProblem[] {
  const entriesByLabel = new Map<string, DatasetEntry[]>();
  for (const entry of source.entries) {
    const group = entriesByLabel.get(entry.labelName) ?? [];
    group.push(entry);
    entriesByLabel.set(entry.labelName, group);
  }
  const labelsByKey = new Map<string, string[]>();
  for (const label of entriesByLabel.keys()) {
    const key = label.toLowerCase().replace(/\s+/g, ' ');
    labelsByKey.set(key, [...(labelsByKey.get(key) ?? []), label]);
  }

  const problems: DataProblem[] = [];
  for (const labels of labelsByKey.values()) {
    if (labels.length < 2) continue;
    // The most frequent spelling is taken as the intended one; each other spelling gets a warning.
    const [main, ...others] = [...labels].sort((a, b) => entriesByLabel.get(b)!.length - entriesByLabel.get(a)!.length);
    const mainCount = entriesByLabel.get(main)!.length;
    for (const label of others) {
      const entries = entriesByLabel.get(label)!;
      problems.push({
        file: source.file,
        line: entries[0].line,
        code: 'similar-labels',
        message:
          `label "${label}" (${entries.length === 1 ? '1 image' : `${entries.length} images`}, first at this line) differs from "${main}" ` +
          `(${mainCount} images) only in case or spacing, so they are two classes. If they name one class, write ` +
          'them alike, or list the classes in data.labels.',
        severity: 'warning',
      });
    }
  }
  return problems;
}

/**
 * Warn about labels that the seeded patient split leaves out of a set, which happens to a label with
 * fewer than 3 patients. `split` is the split of `assignSplits` for a source without splits.
 */
export function checkSeededSplit(source: DataSource, split: Split<DatasetEntry>): DataProblem[] {
  if (source.hasSplits) return [];
  const setOf = new Map<string, SplitName>();
  for (const name of SPLIT_NAMES) for (const entry of split[name]) setOf.set(entry.id, name);
  const selected = source.entries.filter((entry) => setOf.has(entry.id));

  const problems: DataProblem[] = [];
  for (const label of [...new Set(selected.map((entry) => entry.labelName))]) {
    const members = selected.filter((entry) => entry.labelName === label);
    const counts = countBySplit(members.map((entry) => ({ split: setOf.get(entry.id) })));
    const missing = SPLIT_NAMES.filter((name) => counts[name] === 0);
    if (missing.length === 0) continue;
    const patients = new Set(members.map((entry) => entry.patientId)).size;
    const countsText = SPLIT_NAMES.map((name) => `${name} ${counts[name]}`).join(', ');
    problems.push({
      file: source.file,
      line: members[0].line,
      code: 'label-missing-from-split',
      message:
        `label "${label}" (first at this line) has no image in the ${missing.join(' and ')} ` +
        `${missing.length === 1 ? 'split' : 'splits'} of the seeded patient split (${countsText}), ` +
        (patients < 3
          ? `because it has only ${patients === 1 ? '1 patient' : `${patients} patients`}; a label needs 3 patients to reach every split.`
          : 'because the split counts each patient under the most common label of its images.'),
      severity: 'warning',
    });
  }
  return problems;
}

/**
 * Rejects a split without images: training needs images, model selection needs validation images, and
 * the test needs test images, or the run would report accuracies of nothing as if they were results.
 */
export function checkSplitSizes(source: DataSource, split: Split<DatasetEntry>): DataProblem[] {
  const empty = SPLIT_NAMES.filter((name) => split[name].length === 0);
  if (empty.length === 0) return [];
  const counts = SPLIT_NAMES.map((name) => `${name} ${split[name].length}`).join(', ');
  const patients = new Set(SPLIT_NAMES.flatMap((name) => split[name].map((entry) => entry.patientId))).size;
  const fix = source.hasSplits
    ? `Assign some rows to ${empty.join(' and ')} in the manifest's split field.`
    : `The seeded split holds out data.split.testFraction of the ${patients} patients for testing and ` +
      'data.split.validationFraction of the rest for validation, rounded to whole patients. Add images of ' +
      'more patients, or raise those fractions (or data.maxImages, if it is set).';
  return [
    {
      file: source.file,
      line: 0,
      code: 'empty-split',
      message: `the ${empty.join(' and ')} ${empty.length === 1 ? 'split has' : 'splits have'} no image (${counts}). ${fix}`,
      severity: 'error',
    },
  ];
}

/** Patients in two sets, and labels missing from a set, for a source that gives the split. */
function checkGivenSplits(source: DataSource): DataProblem[] {
  const problems: DataProblem[] = [];
  const entries = source.entries.filter((entry) => entry.split !== undefined);

  const byPatient = new Map<string, DatasetEntry[]>();
  for (const entry of entries) {
    const group = byPatient.get(entry.patientId) ?? [];
    group.push(entry);
    byPatient.set(entry.patientId, group);
  }
  for (const [patient, group] of byPatient) {
    const sets = new Set(group.map((entry) => entry.split));
    if (sets.size < 2) continue;
    const first = group.find((entry) => entry.split !== group[0].split)!;
    const where = SPLIT_NAMES.filter((name) => sets.has(name))
      .map((name) => `${name} (${formatLines(group.filter((entry) => entry.split === name).map((entry) => entry.line))})`)
      .join(', ');
    problems.push({
      file: source.file,
      line: first.line,
      code: 'patient-in-two-splits',
      message:
        `patient "${patient}" has images in ${sets.size} splits: ${where}. All images of a patient must be in ` +
        'one split, or the test set shares patients with training; move them into one split.',
      severity: 'error',
    });
  }

  const byLabel = new Map<string, DatasetEntry[]>();
  for (const entry of entries) {
    const group = byLabel.get(entry.labelName) ?? [];
    group.push(entry);
    byLabel.set(entry.labelName, group);
  }
  for (const [label, group] of [...byLabel].sort((a, b) => a[1][0].line - b[1][0].line)) {
    const counts = countBySplit(group);
    const missing = SPLIT_NAMES.filter((name) => counts[name] === 0);
    if (missing.length === 0) continue;
    const countsText = SPLIT_NAMES.map((name) => `${name} ${counts[name]}`).join(', ');
    problems.push({
      file: source.file,
      line: group[0].line,
      code: 'label-missing-from-split',
      message:
        `label "${label}" (first at this line) has no image in the ${missing.join(' and ')} ` +
        `${missing.length === 1 ? 'split' : 'splits'} (${countsText}). Every label needs images in train, validation ` +
        'and test: move some of its patients, or leave the split column out to let tandem split by patient.',
      severity: 'error',
    });
  }
  return problems;
}

/** Number of entries in each set. */
export function countBySplit(entries: readonly { split?: SplitName }[]): Record<SplitName, number> {
  const counts: Record<SplitName, number> = { train: 0, validation: 0, test: 0 };
  for (const entry of entries) if (entry.split !== undefined) counts[entry.split]++;
  return counts;
}

function formatLines(lines: readonly number[]): string {
  const firstLines = lines.slice(0, 5).join(', ');
  return `${lines.length === 1 ? 'line' : 'lines'} ${firstLines}${lines.length > 5 ? ', ...' : ''}`;
}

/**
 * Check that each entry's image file exists and starts with the signature of a supported format, reading
 * only the first bytes of each. Returns one problem per failing entry.
 */
export async function probeImages(source: DataSource, entries: readonly DatasetEntry[] = source.entries): Promise<DataProblem[]> {
  const problems: DataProblem[] = [];
  await forEachConcurrently(entries, 8, async (entry) => {
    try {
      await probeImageFile(entry.imagePath);
    } catch (error) {
      problems.push(imageProblem(source, entry, error));
    }
  });
  return problems;
}

/** Options of `decodeEntries`. */
export interface DecodeEntriesOptions {
  size: number;
  mode: DataConfig['resizeMode'];
  /** Images decoded at the same time; default DEFAULT_DECODE_CONCURRENCY. */
  concurrency?: number;
  /** Called after each image, decoded or failed, with the number done so far and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** Decoded pixels and file facts by entry id, and a problem for each image that failed. */
export interface DecodedEntries {
  pixels: Map<string, Uint8Array>;
  info: Map<string, ImageInfo>;
  problems: DataProblem[];
}

/**
 * Decode every entry's image at `size` x `size` by `mode`, a few at a time. Unlike `decodeImages`, a
 * failure does not stop the others: each failed image gives a problem at its entry's line.
 */
export async function decodeEntries(
  source: DataSource,
  entries: readonly DatasetEntry[],
  options: DecodeEntriesOptions,
): Promise<DecodedEntries> {
  const result: DecodedEntries = { pixels: new Map(), info: new Map(), problems: [] };
  let done = 0;
  await forEachConcurrently(entries, options.concurrency ?? DEFAULT_DECODE_CONCURRENCY, async (entry) => {
    try {
      const { pixels, info } = await decodeImageWithInfo(entry.imagePath, options.size, options.mode);
      result.pixels.set(entry.id, pixels);
      result.info.set(entry.id, info);
    } catch (error) {
      result.problems.push(imageProblem(source, entry, error));
    }
    done++;
    options.onProgress?.(done, entries.length);
  });
  return result;
}

/** Turn an ImageFileError into the entry's problem; any other error is a bug and is thrown again. */
function imageProblem(source: DataSource, entry: DatasetEntry, error: unknown): DataProblem {
  if (!(error instanceof ImageFileError)) throw error;
  const advice = {
    'missing-image': `${source.missingImageAdvice}`,
    'unreadable-image': 'Replace it with an undamaged copy, or leave the image out.',
    'unsupported-format': 'Convert it to PNG (lossless, and it keeps 16-bit greyscale) or TIFF.',
  }[error.code];
  const where = error.code === 'missing-image' ? ` (looked for ${entry.imagePath})` : '';
  return {
    file: source.file,
    line: entry.line,
    code: error.code,
    message: `image "${entry.image}" ${error.reason}${where}. ${advice}`,
    severity: 'error',
  };
}

/** Run `task` on every item with at most `limit` running at once; resolves when all have settled. */
async function forEachConcurrently<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
}
