/**
 * The analysis of a finished run, computed from its own test predictions: confusion matrix figures,
 * t-SNE of the classifier inputs, attention statistics, image attention maps and report.html.
 */
import { readFileSync } from 'node:fs';
import type { TopLevelSpec } from 'vega-lite';
import { attentionMapFileName, RUN_FILES, toCsv, type RunFile, type RunFolder } from '../artifacts/files.ts';
import type { ExperimentConfig } from '../config/schema.ts';
import type { PreparedData, Sample } from '../data/index.ts';
import type { Predictions } from '../evaluate/evaluate.ts';
import type { ClassificationReport, ConfusionMatrix } from '../evaluate/metrics.ts';
import type { EventListener } from '../events.ts';
import { Random } from '../random.ts';
import { centreCrop, renderAttentionMap, renderInputImage, selectAttentionMapImages } from './attention-maps.ts';
import { attentionStatistics, type AttentionStatistics } from './attention-statistics.ts';
import { attentionByTypeSpec, confusionMatrixSpec, renderChart, tsneSpec, type TsnePoint } from './charts.ts';
import { buildReportPage, type AttentionMapEntry, type ConditionSummary } from './report.ts';
import { embedTsne, type TsneResult } from './tsne.ts';

export interface AnalysisOptions {
  folder: RunFolder;
  config: ExperimentConfig;
  data: PreparedData;
  /** Predictions on data.test, in the same sample order. */
  withoutText: Predictions;
  /** Null for a model that reads no text; the with-text files are then left out. */
  withText: Predictions | null;
  matrices: { withoutText: ConfusionMatrix; withText: ConfusionMatrix | null };
  reports: { withoutText: ClassificationReport; withText: ClassificationReport | null };
  bestEpoch: number;
  /** Receives an artifact-written event for each file, and one for the whole attention-maps folder. */
  emit: EventListener;
}

/** Paths that the analysis wrote, and the settings and statistics it computed. */
export interface AnalysisSummary {
  paths: string[];
  tsne: { withoutText: TsneResult; withText: TsneResult | null };
  attention: AttentionStatistics;
  seconds: number;
}

type Condition = 'withoutText' | 'withText';
const CONDITION_NAMES: Record<Condition, string> = { withoutText: 'without text', withText: 'with text' };

type FigureStem =
  | 'confusionWithoutText'
  | 'confusionWithText'
  | 'tsneWithoutText'
  | 'tsneWithText'
  | 'attentionByType'
  | 'attentionRelativeByType';

/** Writes analysis files into the run folder, keeps their paths and announces each one. */
class AnalysisWriter {
  readonly paths: string[] = [];

  constructor(
    readonly folder: RunFolder,
    private readonly emit: EventListener,
  ) {}

  /** Keep the path of a file just written and emit its artifact-written event. */
  record(file: RunFile, written: string): void {
    this.paths.push(written);
    this.announce(file, written);
  }

  /** Emit the artifact-written event of `file` without keeping its path, for example for a folder. */
  announce(file: RunFile, written: string): void {
    this.emit({ type: 'artifact-written', path: written, description: RUN_FILES[file].description });
  }

  /** Write a figure's Vega-Lite spec, SVG and PNG; returns the SVG text. */
  async figure(stem: FigureStem, spec: TopLevelSpec): Promise<string> {
    const { svg, png } = await renderChart(spec);
    this.record(`${stem}Spec`, this.folder.writeJson(`${stem}Spec`, spec));
    this.record(`${stem}Svg`, this.folder.writeText(`${stem}Svg`, svg));
    this.record(`${stem}Png`, this.folder.writeBinary(`${stem}Png`, png));
    return svg;
  }
}

/** The conditions that `options` has predictions for: without text, and with text unless it is null. */
function conditionsOf(options: AnalysisOptions): Condition[] {
  return options.withText ? ['withoutText', 'withText'] : ['withoutText'];
}

/**
 * Write every analysis file into the run folder. report.html comes last and reads config.yaml and
 * run.json from the folder, so those must be written first.
 */
export async function writeAnalysis(options: AnalysisOptions): Promise<AnalysisSummary> {
  const started = performance.now();
  const { folder, config, data } = options;
  const testOrder = data.test.map((sample) => sample.id).join('\n');
  for (const condition of conditionsOf(options)) {
    if (options[condition]!.ids.join('\n') !== testOrder) {
      throw new Error(`writeAnalysis: the predictions ${CONDITION_NAMES[condition]} are not in the order of data.test.`);
    }
  }
  const writer = new AnalysisWriter(folder, options.emit);

  const confusionSvg = await writeConfusionFigures(writer, options);
  const tsne = await writeTsne(writer, options);
  const attention = attentionStatistics(options.withoutText, options.withText, data.classes);
  const attentionSvg = await writeAttentionStatistics(writer, attention);
  const attentionMaps = await writeAttentionMaps(writer, options);

  const seconds = (performance.now() - started) / 1000;
  const tsneRecord = (result: TsneResult | undefined) =>
    result ? { perplexity: result.perplexity, pcaComponents: result.pcaComponents, explainedVariance: result.explainedVariance } : null;
  const misclassified = attentionMaps.filter(
    (map) => map.predictionWithoutText !== map.label || (map.predictionWithText !== null && map.predictionWithText !== map.label),
  );
  const analysisRecord = {
    tsne: {
      settings: config.analysis.tsne,
      seed: config.seed,
      withoutText: tsneRecord(tsne.results.withoutText),
      withText: tsneRecord(tsne.results.withText),
    },
    attentionMaps: { requested: config.analysis.attentionMaps, drawn: attentionMaps.length, misclassified: misclassified.length },
    seconds,
  };
  writer.record('analysis', folder.writeJson('analysis', analysisRecord));

  const summary = (condition: Condition): ConditionSummary | null => {
    const predictions = options[condition];
    const classification = options.reports[condition];
    if (!predictions || !classification) return null;
    return {
      accuracy: predictions.accuracy,
      loss: predictions.loss,
      classification,
      confusionSvg: confusionSvg[condition]!,
      tsneSvg: tsne.svg[condition]!,
    };
  };
  const page = buildReportPage({
    experiment: config.name,
    runDir: folder.dir,
    generatedAt: new Date(),
    classes: data.classes,
    bestEpoch: options.bestEpoch,
    withoutText: summary('withoutText')!,
    withText: summary('withText'),
    tsneNote: tsneNote(config, tsne.results),
    attention,
    attentionByTypeSvg: attentionSvg.byType,
    attentionRelativeByTypeSvg: attentionSvg.relative,
    attentionMaps,
    configYaml: readFileSync(folder.path('config'), 'utf8'),
    run: JSON.parse(readFileSync(folder.path('run'), 'utf8')),
    files: Object.values(RUN_FILES),
  });
  writer.record('report', folder.writeText('report', page));
  return {
    paths: writer.paths,
    tsne: { withoutText: tsne.results.withoutText!, withText: tsne.results.withText ?? null },
    attention,
    seconds,
  };
}

/** Draw the confusion matrix of each condition; returns their SVG text. */
async function writeConfusionFigures(writer: AnalysisWriter, options: AnalysisOptions): Promise<Partial<Record<Condition, string>>> {
  const svg: Partial<Record<Condition, string>> = {};
  for (const condition of conditionsOf(options)) {
    const matrix = options.matrices[condition];
    if (!matrix) throw new Error(`writeAnalysis: predictions ${CONDITION_NAMES[condition]} came without their confusion matrix.`);
    const title = `Test confusion matrix ${CONDITION_NAMES[condition]} (${options[condition]!.ids.length} images)`;
    const stem = condition === 'withoutText' ? 'confusionWithoutText' : 'confusionWithText';
    svg[condition] = await writer.figure(stem, confusionMatrixSpec(matrix, title));
  }
  return svg;
}

/** Embed the classifier inputs of each condition with t-SNE, and write the tables and scatter plots. */
async function writeTsne(
  writer: AnalysisWriter,
  options: AnalysisOptions,
): Promise<{ results: Partial<Record<Condition, TsneResult>>; svg: Partial<Record<Condition, string>> }> {
  const { config, data } = options;
  const random = new Random(config.seed).fork('tsne');
  const results: Partial<Record<Condition, TsneResult>> = {};
  const svg: Partial<Record<Condition, string>> = {};
  for (const condition of conditionsOf(options)) {
    const predictions = options[condition]!;
    const rows = predictions.ids.length;
    const result = embedTsne(predictions.classifierInputs, rows, predictions.classifierInputSize, config.analysis.tsne, random.fork(condition));
    results[condition] = result;

    const points: TsnePoint[] = predictions.ids.map((image, i) => ({
      image,
      label: data.classes[predictions.labels[i]],
      prediction: data.classes[predictions.predictions[i]],
      x: result.points[i][0],
      y: result.points[i][1],
    }));
    const file = condition === 'withoutText' ? 'tsneWithoutText' : 'tsneWithText';
    const table = points.map((point) => [point.image, point.label, point.prediction, point.x, point.y]);
    writer.record(file, writer.folder.writeText(file, toCsv(['image', 'label', 'prediction', 'x', 'y'], table)));
    svg[condition] = await writer.figure(file, tsneSpec(points, data.classes, `t-SNE of the classifier input ${CONDITION_NAMES[condition]}`));
  }
  return { results, svg };
}

function tsneNote(config: ExperimentConfig, tsne: Partial<Record<Condition, TsneResult>>): string {
  const { iterations, learningRate } = config.analysis.tsne;
  const describe = (condition: Condition) => {
    const result = tsne[condition];
    const name = CONDITION_NAMES[condition].replace(/^w/, 'W');
    if (!result) return `${name}: not tested, because the model reads no text.`;
    const pca =
      result.pcaComponents === null
        ? 'no PCA'
        : `PCA to ${result.pcaComponents} components keeping ${(100 * (result.explainedVariance ?? 0)).toFixed(2)}% of the variance`;
    return `${name}: ${pca}, perplexity ${result.perplexity.toFixed(1)}.`;
  };
  return (
    `Classifier input ${config.model.skipConnection ? 'c + mean(V′)' : 'c'} of each test image. ` +
    `${describe('withoutText')} ${describe('withText')} ` +
    `${iterations} iterations at learning rate ${learningRate}, seeded from seed ${config.seed}. ` +
    'A cross marks a misclassified image.'
  );
}

/**
 * Write attention-statistics.json and its tables and heat maps; returns the heat maps' SVG text. Without
 * predictions with text there are no sentence weights, so only the JSON and the share table are written.
 */
async function writeAttentionStatistics(
  writer: AnalysisWriter,
  attention: AttentionStatistics,
): Promise<{ byType: string | null; relative: string | null }> {
  const { folder } = writer;
  writer.record('attentionStatistics', folder.writeJson('attentionStatistics', attention));

  const shares = [
    ['without text', attention.shareWithoutText],
    ['with text', attention.shareWithText ?? []],
  ] as const;
  const shareRows = shares.flatMap(([condition, rows]) =>
    rows.map((share) => [condition, share.label, share.images, share.meanImageShare ?? '', share.meanTextShare ?? '']),
  );
  const shareHeader = ['condition', 'label', 'images', 'mean_image_share', 'mean_text_share'];
  writer.record('attentionShareCsv', folder.writeText('attentionShareCsv', toCsv(shareHeader, shareRows)));
  if (attention.shareWithText === null) return { byType: null, relative: null };

  const byTypeRows = attention.byType.map((cell) => [
    cell.label,
    cell.type,
    cell.meanWeight ?? '',
    cell.meanRelativeWeight ?? '',
    cell.sentences,
    cell.images,
  ]);
  const byTypeHeader = ['label', 'sentence_type', 'mean_weight', 'mean_relative_weight', 'sentences', 'images'];
  writer.record('attentionByTypeCsv', folder.writeText('attentionByTypeCsv', toCsv(byTypeHeader, byTypeRows)));

  const { byType, classes, sentenceTypes } = attention;
  const weightTitle = 'Mean text attention weight per sentence type (test with text)';
  const relativeTitle = 'Relative text attention per sentence type (1 = report average, test with text)';
  return {
    byType: await writer.figure('attentionByType', attentionByTypeSpec(byType, classes, sentenceTypes, 'meanWeight', weightTitle)),
    relative: await writer.figure(
      'attentionRelativeByType',
      attentionByTypeSpec(byType, classes, sentenceTypes, 'meanRelativeWeight', relativeTitle),
    ),
  };
}

/**
 * Draw the attention maps of the selected test images into the attention-maps folder and write
 * attention-maps.json. Returns the entries for the report.
 */
async function writeAttentionMaps(writer: AnalysisWriter, options: AnalysisOptions): Promise<AttentionMapEntry[]> {
  const { config, data, withoutText, withText } = options;
  const { folder } = writer;
  const samples = new Map<string, Sample>(data.test.map((sample) => [sample.id, sample]));
  const random = new Random(config.seed).fork('attention-maps');
  const selected = selectAttentionMapImages(withoutText, withText ?? withoutText, config.analysis.attentionMaps, random);
  const { height, width } = withoutText.featureMap;
  const positions = height * width;
  const { imageSize, resizeTo } = data.config;

  const entries: AttentionMapEntry[] = [];
  const index: Record<string, unknown>[] = [];
  for (const i of selected) {
    const id = withoutText.ids[i];
    const pixels = data.pixels.get(id);
    if (pixels === undefined) throw new Error(`Test image ${id} has no decoded pixels.`);
    const crop = centreCrop(pixels, resizeTo, imageSize);
    const weightsOf = (predictions: Predictions) => predictions.imageWeights.subarray(i * positions, (i + 1) * positions);
    const imageShareOf = (predictions: Predictions) => {
      const image = weightsOf(predictions).reduce((a, b) => a + b, 0);
      const total = image + predictions.textAttentionShare[i];
      return total > 0 ? image / total : 0;
    };

    const files = { image: attentionMapFileName(id, 'image'), withoutText: attentionMapFileName(id, 'without-text') } as Record<string, string>;
    const pictures: AttentionMapEntry['pictures'] = {
      image: await renderInputImage(crop, imageSize),
      withoutText: await renderAttentionMap(crop, imageSize, weightsOf(withoutText), height, width),
      withText: withText && (await renderAttentionMap(crop, imageSize, weightsOf(withText), height, width)),
    };
    writer.paths.push(folder.writeInFolder('attentionMapsFolder', files.image, pictures.image));
    writer.paths.push(folder.writeInFolder('attentionMapsFolder', files.withoutText, pictures.withoutText));
    if (pictures.withText) {
      files.withText = attentionMapFileName(id, 'with-text');
      writer.paths.push(folder.writeInFolder('attentionMapsFolder', files.withText, pictures.withText));
    }

    // Report sentences beyond data.maxSentences were never read, so they have no weight.
    const keptSentences = samples.get(id)!.sentences.slice(0, config.data.maxSentences);
    const sentences = keptSentences.map((sentence, s) => ({
      type: sentence.type,
      text: sentence.text,
      weight: withText ? withText.sentenceWeights[i][s] : null,
    }));
    const entry: AttentionMapEntry = {
      image: id,
      label: data.classes[withoutText.labels[i]],
      predictionWithoutText: data.classes[withoutText.predictions[i]],
      predictionWithText: withText && data.classes[withText.predictions[i]],
      pictures,
      weightRange: { withoutText: valueRange(weightsOf(withoutText)), withText: withText && valueRange(weightsOf(withText)) },
      imageShare: { withoutText: imageShareOf(withoutText), withText: withText && imageShareOf(withText) },
      sentences,
    };
    entries.push(entry);
    index.push({
      image: id,
      label: entry.label,
      predictionWithoutText: entry.predictionWithoutText,
      predictionWithText: entry.predictionWithText,
      files: Object.fromEntries(Object.entries(files).map(([key, name]) => [key, `${RUN_FILES.attentionMapsFolder.name}/${name}`])),
      featureMap: { height, width },
      imageWeightsWithoutText: toGrid(weightsOf(withoutText), height, width),
      imageWeightsWithText: withText && toGrid(weightsOf(withText), height, width),
      imageShare: entry.imageShare,
      sentences,
    });
  }
  if (entries.length > 0) {
    // One event for the whole folder, because attention-maps.json lists its files.
    writer.announce('attentionMapsFolder', folder.path('attentionMapsFolder'));
  }
  writer.record('attentionMaps', folder.writeJson('attentionMaps', { featureMap: { height, width }, imageSize, images: index }));
  return entries;
}

function valueRange(values: Float32Array): [number, number] {
  return values.length === 0 ? [0, 0] : [Math.min(...values), Math.max(...values)];
}

/** Convert a row-major height x width grid to nested arrays, rounded to 6 significant digits for JSON. */
function toGrid(values: ArrayLike<number>, height: number, width: number): number[][] {
  const grid: number[][] = [];
  for (let r = 0; r < height; r++) {
    grid.push(Array.from({ length: width }, (_, c) => Number(values[r * width + c].toPrecision(6))));
  }
  return grid;
}
