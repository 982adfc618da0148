/**
 * report.html: one self-contained page with a run's metrics, figures, attention maps, config and
 * provenance. Every picture is embedded as a data URL and a Content-Security-Policy blocks any other
 * source, so the page opens from disk with no network and still works when copied alone.
 */
import type { ClassificationReport } from '../evaluate/metrics.ts';
import type { AttentionStatistics } from './attention-statistics.ts';
import { formatSignificant } from './charts.ts';

/** One sentence of a drawn report with its text attention weight (null when the model reads no text). */
export interface ReportSentenceWeight {
  type: string;
  text: string;
  weight: number | null;
}

/**
 * One drawn test image: its pictures (PNG bytes), predictions and sentence weights. Every with-text
 * field is null for a model that reads no text.
 */
export interface AttentionMapEntry {
  image: string;
  label: string;
  predictionWithoutText: string;
  predictionWithText: string | null;
  pictures: { image: Uint8Array; withoutText: Uint8Array; withText: Uint8Array | null };
  /** Smallest and largest image attention weight of each map: the ends of its colour scale. */
  weightRange: { withoutText: [number, number]; withText: [number, number] | null };
  /** Share of the attention on the image, as in attention-share.csv. */
  imageShare: { withoutText: number; withText: number | null };
  sentences: ReportSentenceWeight[];
}

/** Test results of one condition (without or with text). */
export interface ConditionSummary {
  accuracy: number;
  loss: number;
  classification: ClassificationReport;
  /** SVG text of the confusion matrix and t-SNE figures. */
  confusionSvg: string;
  tsneSvg: string;
}

export interface ReportContent {
  experiment: string;
  runDir: string;
  generatedAt: Date;
  classes: string[];
  bestEpoch: number;
  withoutText: ConditionSummary;
  /** Null for a model that reads no text, and so are the text attention figures. */
  withText: ConditionSummary | null;
  tsneNote: string;
  attention: AttentionStatistics;
  attentionByTypeSvg: string | null;
  attentionRelativeByTypeSvg: string | null;
  attentionMaps: AttentionMapEntry[];
  /** The text of config.yaml. */
  configYaml: string;
  /** The parsed run.json. */
  run: Record<string, unknown>;
  /** File name and description of every file of the run folder, for the file list. */
  files: { name: string; description: string }[];
}

const NO_TEXT_NOTE = '<p class="note">Not tested with text, because the model reads no text.</p>';

const STYLE = `
body { font-family: "DejaVu Sans", system-ui, sans-serif; margin: 0 auto; max-width: 1180px; padding: 1.5rem; color: #1c1c1c; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2rem; margin-top: 2.2rem; }
table { border-collapse: collapse; margin: 0.6rem 0; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.figures { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
.figures img { max-width: 100%; }
.map { border: 1px solid #ddd; padding: 0.8rem; margin: 1rem 0; }
.map .pictures { display: flex; gap: 0.8rem; flex-wrap: wrap; }
.map figure { margin: 0; }
.map figcaption { font-size: 0.8rem; color: #444; max-width: 256px; }
.right { color: #1a7f37; } .wrong { color: #c62828; font-weight: bold; }
.bar { background: #e6550d; height: 0.7rem; display: inline-block; vertical-align: middle; }
pre { background: #f6f6f6; padding: 0.8rem; overflow-x: auto; font-size: 0.8rem; }
.note { color: #444; font-size: 0.9rem; }
`;

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function svgImage(svg: string, alt: string): string {
  return `<img src="data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}" alt="${escapeHtml(alt)}">`;
}

function pngImage(png: Uint8Array, alt: string): string {
  return `<img src="data:image/png;base64,${Buffer.from(png).toString('base64')}" alt="${escapeHtml(alt)}" width="256" height="256">`;
}

const percent = (value: number | null) => (value === null ? '–' : `${(value * 100).toFixed(1)}%`);
const decimal = (value: number | null, digits = 3) => (value === null ? '–' : value.toFixed(digits));

function metricsSection(content: ReportContent): string {
  const conditions: [string, ConditionSummary][] = [['without text', content.withoutText]];
  if (content.withText) conditions.push(['with text', content.withText]);
  const summaryRows = conditions
    .map(
      ([name, summary]) =>
        `<tr><th>${name}</th><td class="number">${percent(summary.accuracy)}</td><td class="number">${decimal(summary.classification.macroF1)}</td>` +
        `<td class="number">${percent(summary.classification.balancedAccuracy)}</td><td class="number">${decimal(summary.loss)}</td></tr>`,
    )
    .join('\n');
  const classRows = content.classes
    .map((label, k) => {
      const cells = conditions
        .map(([, summary]) => {
          const scores = summary.classification.perClass[k];
          return `<td class="number">${decimal(scores.precision)}</td><td class="number">${decimal(scores.recall)}</td><td class="number">${decimal(scores.f1)}</td>`;
        })
        .join('');
      return `<tr><th>${escapeHtml(label)}</th><td class="number">${content.withoutText.classification.perClass[k].support}</td>${cells}</tr>`;
    })
    .join('\n');
  return `
<h2 id="metrics">Test metrics</h2>
<p class="note">Weights of epoch ${content.bestEpoch}, the best on validation. Macro-F1 averages over classes; balanced accuracy is the mean recall.</p>
<table>
<tr><th></th><th>accuracy</th><th>macro-F1</th><th>balanced accuracy</th><th>loss</th></tr>
${summaryRows}
</table>
<table>
<tr><th rowspan="2">class</th><th rowspan="2">images</th>${conditions.map(([name]) => `<th colspan="3">${name}</th>`).join('')}</tr>
<tr>${conditions.map(() => '<th>precision</th><th>recall</th><th>F1</th>').join('')}</tr>
${classRows}
</table>
<h2 id="confusion">Confusion matrices</h2>
<div class="figures">
${conditions.map(([name, summary]) => svgImage(summary.confusionSvg, `Confusion matrix ${name}`)).join('\n')}
</div>`;
}

function tsneSection(content: ReportContent): string {
  return `
<h2 id="tsne">t-SNE of the classifier input</h2>
<p class="note">${escapeHtml(content.tsneNote)}</p>
<div class="figures">
${svgImage(content.withoutText.tsneSvg, 't-SNE without text')}
${content.withText ? svgImage(content.withText.tsneSvg, 't-SNE with text') : ''}
</div>`;
}

function attentionSection(content: ReportContent): string {
  const { attention } = content;
  const shareRows = attention.classes
    .map((label, k) => {
      const without = attention.shareWithoutText[k];
      const withText = attention.shareWithText?.[k];
      return (
        `<tr><th>${escapeHtml(label)}</th><td class="number">${without.images}</td>` +
        `<td class="number">${percent(without.meanImageShare)}</td><td class="number">${percent(without.meanTextShare)}</td>` +
        `<td class="number">${percent(withText?.meanImageShare ?? null)}</td><td class="number">${percent(withText?.meanTextShare ?? null)}</td></tr>`
      );
    })
    .join('\n');
  const byType =
    content.attentionByTypeSvg && content.attentionRelativeByTypeSvg
      ? `<p class="note">Mean text attention weight of each sentence type for the test images of each true label, with the
number of sentences behind each mean (tested with text).</p>
<div class="figures">${svgImage(content.attentionByTypeSvg, 'Mean text attention weight per sentence type and label')}</div>
<p class="note">The same sentences, each weight divided by the mean weight of its report's sentences, so 1 is an
average sentence of its report. This removes the differences in how much attention the report as a whole
draws and in how many sentences share it.</p>
<div class="figures">${svgImage(content.attentionRelativeByTypeSvg, 'Mean relative text attention weight per sentence type and label')}</div>`
      : NO_TEXT_NOTE;
  return `
<h2 id="attention">Attention statistics</h2>
${byType}
<p class="note">Share of the attention on the image and on the text, averaged over the images of each label. Without text
every sentence slot contains a zero vector, so the text share is the attention those empty slots draw.</p>
<table>
<tr><th rowspan="2">true label</th><th rowspan="2">images</th><th colspan="2">without text</th><th colspan="2">with text</th></tr>
<tr><th>image</th><th>text</th><th>image</th><th>text</th></tr>
${shareRows}
</table>`;
}

function mapCard(entry: AttentionMapEntry): string {
  const mapCaption = (range: [number, number], imageShare: number) =>
    `image share ${percent(imageShare)}; weights from ${formatSignificant(range[0])} (blue) to ${formatSignificant(range[1])} (red)`;
  const outcome = (prediction: string | null) => {
    if (prediction === null) return 'not tested';
    const text = escapeHtml(prediction);
    return prediction === entry.label ? `<span class="right">${text} (right)</span>` : `<span class="wrong">${text} (wrong)</span>`;
  };
  const largestSentence = Math.max(0, ...entry.sentences.map((s) => s.weight ?? 0));
  const sentenceRows = entry.sentences
    .map((sentence, i) => {
      const weight = sentence.weight ?? 0;
      const width = largestSentence > 0 ? Math.round((weight / largestSentence) * 120) : 0;
      return (
        `<tr><td class="number">${i + 1}</td><td>${escapeHtml(sentence.type)}</td><td>${escapeHtml(sentence.text)}</td>` +
        `<td class="number">${sentence.weight === null ? '–' : formatSignificant(sentence.weight)}</td>` +
        `<td><span class="bar" style="width:${width}px"></span></td></tr>`
      );
    })
    .join('\n');
  const withTextFigure =
    entry.pictures.withText && entry.weightRange.withText && entry.imageShare.withText !== null
      ? `<figure>${pngImage(entry.pictures.withText, `${entry.image}, attention with text`)}<figcaption>With text: ${mapCaption(entry.weightRange.withText, entry.imageShare.withText)}</figcaption></figure>`
      : '';
  const sentences =
    entry.sentences.length === 0
      ? '<p class="note">This image has no report sentences.</p>'
      : `<table><tr><th>#</th><th>type</th><th>sentence</th><th>weight</th><th></th></tr>\n${sentenceRows}\n</table>`;
  return `
<div class="map">
<h3>${escapeHtml(entry.image)}: true label ${escapeHtml(entry.label)}; without text ${outcome(entry.predictionWithoutText)}; with text ${outcome(entry.predictionWithText)}</h3>
<div class="pictures">
<figure>${pngImage(entry.pictures.image, `${entry.image}, network input`)}<figcaption>Network input (centre crop)</figcaption></figure>
<figure>${pngImage(entry.pictures.withoutText, `${entry.image}, attention without text`)}<figcaption>Without text: ${mapCaption(entry.weightRange.withoutText, entry.imageShare.withoutText)}</figcaption></figure>
${withTextFigure}
</div>
${sentences}
</div>`;
}

function mapsSection(content: ReportContent): string {
  const cards = content.attentionMaps.map(mapCard).join('\n');
  return `
<h2 id="maps">Image attention maps</h2>
<p class="note">Image attention weights upsampled bilinearly to the network input and drawn from blue (the map's smallest
weight) to red (its largest); the sentence weights are those of the test with text.</p>
${cards || '<p class="note">No images were drawn (analysis.attentionMaps is 0).</p>'}`;
}

function provenanceSection(content: ReportContent): string {
  const run = content.run as Record<string, any>;
  const rows: [string, unknown][] = [
    ['experiment', run.experiment],
    ['run folder', content.runDir],
    ['command', Array.isArray(run.command) ? run.command.join(' ') : run.command],
    ['config file', run.configFile],
    ['seed', run.seed],
    ['start time', run.startTime],
    ['report written', content.generatedAt.toISOString()],
    ['backend', run.backend?.name],
    ['versions', run.versions ? Object.entries(run.versions).map(([k, v]) => `${k} ${v}`).join(', ') : undefined],
    ['git commit', run.source ? `${run.source.commit ?? 'not a git checkout'}${run.source.dirty ? ' (with uncommitted changes)' : ''}` : undefined],
    ['package-lock.json SHA-256', run.source?.packageLockSha256],
    ['host', run.host ? `${run.host.platform} ${run.host.arch}, ${run.host.cpus} × ${run.host.cpuModel}, Node.js ${run.host.node}` : undefined],
    ['data', run.data ? `${run.data.root}: ${run.data.images} images, ${run.data.patients} patients` : undefined],
    ['samples', run.data?.samples ? `train ${run.data.samples.train}, validation ${run.data.samples.validation}, test ${run.data.samples.test}` : undefined],
  ];
  const table = rows
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([name, value]) => `<tr><th>${escapeHtml(name)}</th><td>${escapeHtml(String(value))}</td></tr>`)
    .join('\n');
  const files = content.files.map((file) => `<tr><td><code>${escapeHtml(file.name)}</code></td><td>${escapeHtml(file.description)}</td></tr>`).join('\n');
  return `
<h2 id="config">Config</h2>
<pre>${escapeHtml(content.configYaml)}</pre>
<h2 id="provenance">Provenance</h2>
<table>
${table}
</table>
<details><summary>run.json as written before the analysis</summary><pre>${escapeHtml(JSON.stringify(content.run, null, 2))}</pre></details>
<h2 id="files">Files a run folder can contain</h2>
<table>
${files}
</table>`;
}

/** Build the HTML text of report.html. */
export function buildReportPage(content: ReportContent): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>${escapeHtml(content.experiment)}: TandemNet run report</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(content.experiment)}: TandemNet run report</h1>
<p class="note">Test accuracy ${percent(content.withoutText.accuracy)} without text${content.withText ? ` and ${percent(content.withText.accuracy)} with text` : ''}.
Run folder <code>${escapeHtml(content.runDir)}</code>.</p>
${metricsSection(content)}
${tsneSection(content)}
${attentionSection(content)}
${mapsSection(content)}
${provenanceSection(content)}
</body>
</html>
`;
}
