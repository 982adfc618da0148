/** The summary of a data set that `tandem data check` prints after the problems. */
import type { DataConfig } from '../config/schema.ts';
import { countBySplit } from './check.ts';
import type { ImageInfo } from './images.ts';
import type { Split } from './split.ts';
import { tokenize } from './text.ts';
import { SPLIT_NAMES, type DataSource, type DatasetEntry, type SplitName } from './types.ts';
import { compareStrings } from './vqa-rad.ts';

/** Smallest, median and largest of a list of counts; all 0 for an empty list. */
export interface CountRange {
  min: number;
  /** The lower median: the middle value, or the lower of the two middle values. */
  median: number;
  max: number;
}

export interface DataSummary {
  kind: DataSource['kind'];
  /** Absolute path of the manifest or VQA-RAD metadata file. */
  file: string;
  /** Rows (manifest) or images (VQA-RAD) in the source, including rows left out for errors. */
  rows: number;
  /** Entries that could be read. */
  images: number;
  patients: number;
  /** Per class (in class order, then labels outside data.labels): images in the data set and in each set of the run. */
  labels: { name: string; images: number; bySplit: Record<SplitName, number> }[];
  split: {
    /** manifest: the split column; seeded: the patient split that the run's seed gives. */
    source: 'manifest' | 'seeded';
    /** Images a run uses, after data.maxImages. */
    selected: number;
    images: Record<SplitName, number>;
    patients: Record<SplitName, number>;
  };
  reports: { total: number; perImage: CountRange };
  sentencesPerReport: CountRange;
  /** Reports with more sentences than data.maxSentences, whose later sentences the model never reads. */
  reportsOverMaxSentences: number;
  /** Words (tokens) per sentence, before the end-of-sentence token. */
  wordsPerSentence: CountRange;
  /** Sentences with more words than data.maxSentenceTokens - 1, which are cut. */
  sentencesOverMaxTokens: number;
  /** Sentence count per type, most frequent first; the type "" marks untyped sentences. */
  sentenceTypes: { type: string; sentences: number }[];
  /** Set when the images were decoded. */
  imageFiles?: {
    /** Images per kind, such as "PNG 16-bit grey", most frequent first. */
    kinds: { kind: string; images: number }[];
    width: CountRange;
    height: CountRange;
  };
}

/** Compute the summary of `source` for the run that `data` and `seed` describe. */
export function summariseData(
  source: DataSource,
  classes: readonly string[],
  split: Split<DatasetEntry>,
  data: Pick<DataConfig, 'maxSentences' | 'maxSentenceTokens'>,
  imageInfo?: ReadonlyMap<string, ImageInfo>,
): DataSummary {
  const entries = source.entries;
  const setOf = new Map<string, SplitName>();
  for (const name of SPLIT_NAMES) for (const entry of split[name]) setOf.set(entry.id, name);

  const otherLabels = [...new Set(entries.map((entry) => entry.labelName))].filter((name) => !classes.includes(name));
  const labelNames = [...classes, ...otherLabels.sort(compareStrings)];
  const labels = labelNames.map((name) => {
    const members = entries.filter((entry) => entry.labelName === name);
    return { name, images: members.length, bySplit: countBySplit(members.map((entry) => ({ split: setOf.get(entry.id) }))) };
  });

  const reports = entries.flatMap((entry) => entry.reports);
  const sentences = reports.flat();
  const words = sentences.map((sentence) => tokenize(sentence.text).length);
  const typeCounts = new Map<string, number>();
  for (const sentence of sentences) typeCounts.set(sentence.type, (typeCounts.get(sentence.type) ?? 0) + 1);

  const summary: DataSummary = {
    kind: source.kind,
    file: source.file,
    rows: source.rows,
    images: entries.length,
    patients: new Set(entries.map((entry) => entry.patientId)).size,
    labels,
    split: {
      source: source.hasSplits ? 'manifest' : 'seeded',
      selected: SPLIT_NAMES.reduce((total, name) => total + split[name].length, 0),
      images: { train: split.train.length, validation: split.validation.length, test: split.test.length },
      patients: {
        train: new Set(split.train.map((entry) => entry.patientId)).size,
        validation: new Set(split.validation.map((entry) => entry.patientId)).size,
        test: new Set(split.test.map((entry) => entry.patientId)).size,
      },
    },
    reports: { total: reports.length, perImage: countRange(entries.map((entry) => entry.reports.length)) },
    sentencesPerReport: countRange(reports.map((report) => report.length)),
    reportsOverMaxSentences: reports.filter((report) => report.length > data.maxSentences).length,
    wordsPerSentence: countRange(words),
    sentencesOverMaxTokens: words.filter((count) => count > data.maxSentenceTokens - 1).length,
    sentenceTypes: [...typeCounts]
      .sort((a, b) => b[1] - a[1] || compareStrings(a[0], b[0]))
      .map(([type, count]) => ({ type, sentences: count })),
  };

  if (imageInfo !== undefined && imageInfo.size > 0) {
    const infos = [...imageInfo.values()];
    const kinds = new Map<string, number>();
    for (const info of infos) {
      const kind = `${info.format} ${info.bitsPerSample}-bit ${CHANNEL_NAMES[info.channels] ?? `${info.channels}-channel`}`;
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    summary.imageFiles = {
      kinds: [...kinds].sort((a, b) => b[1] - a[1] || compareStrings(a[0], b[0])).map(([kind, images]) => ({ kind, images })),
      width: countRange(infos.map((info) => info.width)),
      height: countRange(infos.map((info) => info.height)),
    };
  }
  return summary;
}

const CHANNEL_NAMES: Record<number, string> = { 1: 'grey', 2: 'grey with alpha', 3: 'RGB', 4: 'RGBA or CMYK' };

/** Return the smallest, lower median and largest value of `values`. */
export function countRange(values: readonly number[]): CountRange {
  if (values.length === 0) return { min: 0, median: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0], median: sorted[Math.floor((sorted.length - 1) / 2)], max: sorted[sorted.length - 1] };
}
