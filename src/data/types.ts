/** The data pipeline's output types, shared by its modules and by the model and training code. */
import type { DataConfig } from '../config/schema.ts';
import type { ReportSentence } from './reports.ts';
import type { Vocabulary } from './text.ts';

/** One image with its label and report. */
export interface Sample {
  /** Image file name, unique in the data set, e.g. "synpic54610.jpg". */
  id: string;
  /** Absolute path of the image file. */
  imagePath: string;
  /** Class index into `PreparedData.classes`. */
  label: number;
  /** Class name, e.g. "CHEST". */
  labelName: string;
  /** Patient group: all images connected through shared case URLs share it (the group's first case URL). */
  patientId: string;
  /** The report in record order; may be empty, in which case every sentence slot is masked. */
  sentences: ReportSentence[];
}

/** Everything the model and training need from the data set, loaded once per run. */
export interface PreparedData {
  /** Absolute path of the data folder that was read. */
  root: string;
  /** Class names sorted alphabetically; a label is an index into this list. */
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
  /** Number of samples whose report has no sentence (for example when all its questions were ORGAN). */
  emptyReports: number;
  /** The distinct normalised sentence types in all reports, sorted. */
  sentenceTypes: string[];
  /** Per sample id: the image resized to resizeTo x resizeTo, 3 bytes per pixel (RGB, 0 to 255), HWC. */
  pixels: Map<string, Uint8Array>;
  /** The data settings this was loaded with. */
  config: DataConfig;
}
