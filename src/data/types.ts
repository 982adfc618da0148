/** The data pipeline's output types, shared by its modules and by the model and training code. */
import type { DataConfig } from '../config/schema.ts';
import type { DataProblem } from './problems.ts';
import type { ReportSentence } from './reports.ts';
import type { Vocabulary } from './text.ts';

/** The three sets a sample can belong to. */
export const SPLIT_NAMES = ['train', 'validation', 'test'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];

/** One image of a data set as an importer read it, before any check, selection or split. */
export interface DatasetEntry {
  /** 1-based line of the entry in the source file: its manifest row, or its first VQA-RAD record. */
  line: number;
  /** Sample id, unique in the data set: the manifest's id, else the image path as written. */
  id: string;
  /** The image path as the source file writes it, for messages. */
  image: string;
  /** Absolute path of the image file. */
  imagePath: string;
  labelName: string;
  patientId: string;
  /** The image's reports in source order, each a list of sentences; may contain an empty report. */
  reports: ReportSentence[][];
  /** The set the source assigns, if it assigns one (a manifest with a split column). */
  split?: SplitName;
}

/** The entries an importer read and the problems it found on the way. */
export interface DataSource {
  kind: 'vqa-rad' | 'manifest';
  /** Absolute path of the file that problem lines refer to: the manifest or the VQA-RAD metadata file. */
  file: string;
  /** The path that `PreparedData.root` reports: the VQA-RAD folder, or the manifest file. */
  root: string;
  /** Entries of the rows that could be read, in source order; rows with a row-level error are left out. */
  entries: DatasetEntry[];
  /** Number of rows or images in the source, the ones left out included. */
  rows: number;
  problems: DataProblem[];
  /** True when every entry has `split` set, so the source's split replaces the seeded patient split. */
  hasSplits: boolean;
  /** Advice, in one sentence, on fixing a missing image of this source. */
  missingImageAdvice: string;
}

/** One image with its label and report. */
export interface Sample {
  /** Unique in the data set: the VQA-RAD image file name, e.g. "synpic54610.jpg", or the manifest id. */
  id: string;
  /** Absolute path of the image file. */
  imagePath: string;
  /** Class index into `PreparedData.classes`. */
  label: number;
  /** Class name, e.g. "CHEST". */
  labelName: string;
  /**
   * Patient id: the manifest's patient, or for VQA-RAD the group of images connected through shared case
   * URLs (the group's first case URL).
   */
  patientId: string;
  /**
   * The report used for evaluation, the image's first report. May be empty, in which case every sentence
   * slot is masked.
   */
  sentences: ReportSentence[];
  /**
   * Every report of the image in source order, set only when there is more than one; `reports[0]` is
   * `sentences`. Training draws one of them each time the sample is visited.
   */
  reports?: ReportSentence[][];
}

/** Everything the model and training need from the data set, loaded once per run. */
export interface PreparedData {
  /** Absolute path of the data folder (VQA-RAD) or of the manifest file that was read. */
  root: string;
  /** Class names, as `data.labels` lists them or else sorted alphabetically; a label is an index into this list. */
  classes: string[];
  train: Sample[];
  validation: Sample[];
  test: Sample[];
  /** Words of the training reports. */
  vocabulary: Vocabulary;
  /** Training-split mean of each RGB channel over the resized images, in [0, 1] units. */
  mean: [number, number, number];
  /** Number of patients over the three splits. */
  patients: number;
  /** Number of images (samples) over the three splits. */
  images: number;
  /** Number of samples whose evaluation report has no sentence (for example when all its questions were ORGAN). */
  emptyReports: number;
  /** The distinct normalised sentence types in all reports, sorted. */
  sentenceTypes: string[];
  /** Per sample id: the image resized to resizeTo x resizeTo, 3 bytes per pixel (RGB, 0 to 255), HWC. */
  pixels: Map<string, Uint8Array>;
  /** The data settings this was loaded with. */
  config: DataConfig;
  /** Warnings of the data checks, summarised one line per kind of problem; none when absent. */
  warnings?: string[];
}
