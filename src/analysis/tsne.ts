/**
 * Seeded two-dimensional t-SNE of row vectors, with a PCA step first for long rows. The t-SNE itself is
 * @keckelt/tsne, a TypeScript port of Karpathy's tsnejs; PCA is ml-pca.
 */
import { TSNE } from '@keckelt/tsne';
import { PCA } from 'ml-pca';
import type { AnalysisConfig } from '../config/schema.ts';
import type { Random } from '../random.ts';

export type TsneSettings = AnalysisConfig['tsne'];

export interface TsneResult {
  /** One [x, y] per input row, in input order. */
  points: [number, number][];
  /** The perplexity used: the configured one, or (rows - 1) / 3 when that is lower, and at least 1. */
  perplexity: number;
  /** Principal components the rows were reduced to before t-SNE; null when the rows were used as they are. */
  pcaComponents: number | null;
  /** Share of the total variance that those components keep; null without PCA. */
  explainedVariance: number | null;
}

/**
 * tsnejs draws its initial solution from `gaussRandom`, which calls Math.random. This subclass overrides
 * that method on its own instances, so the draws come from the seeded stream and no global is touched.
 * NOTE: gaussRandom is the only source of randomness in @keckelt/tsne 1.0.2; a later version that draws
 * elsewhere would break reproducibility, which the tests check.
 */
class SeededTsne extends TSNE {
  constructor(
    options: { perplexity: number; epsilon: number; dim: number },
    private readonly random: Random,
  ) {
    super(options);
  }

  override gaussRandom(): number {
    return this.random.normal();
  }
}

/**
 * Embed the rows x columns matrix `values` (row-major) in two dimensions. Rows longer than
 * settings.pcaDimensions are first projected onto their leading principal components. The same values,
 * settings and `random` state give the same points.
 */
export function embedTsne(values: Float32Array, rows: number, columns: number, settings: TsneSettings, random: Random): TsneResult {
  if (values.length !== rows * columns) {
    throw new RangeError(`embedTsne: ${values.length} values do not fill a ${rows} x ${columns} matrix.`);
  }
  const perplexity = Math.max(1, Math.min(settings.perplexity, (rows - 1) / 3));
  if (rows === 0) return { points: [], perplexity, pcaComponents: null, explainedVariance: null };

  let matrix: number[][] = [];
  for (let r = 0; r < rows; r++) matrix.push(Array.from(values.subarray(r * columns, (r + 1) * columns)));

  let pcaComponents: number | null = null;
  let explainedVariance: number | null = null;
  if (columns > settings.pcaDimensions && rows > 1) {
    // Centred rows span at most rows - 1 directions; further components would be all zeros.
    pcaComponents = Math.min(settings.pcaDimensions, rows - 1);
    const pca = new PCA(matrix, { center: true, scale: false });
    matrix = pca.predict(matrix, { nComponents: pcaComponents }).to2DArray();
    const keptShare = pca
      .getExplainedVariance()
      .slice(0, pcaComponents)
      .reduce((a, b) => a + b, 0);
    // Rows that are all equal have no variance to explain, and ml-pca returns NaN shares for them.
    explainedVariance = Number.isFinite(keptShare) ? keptShare : null;
  }

  if (rows === 1) return { points: [[0, 0]], perplexity, pcaComponents, explainedVariance };

  const tsne = new SeededTsne({ perplexity, epsilon: settings.learningRate, dim: 2 }, random);
  tsne.initDataRaw(matrix);
  for (let i = 0; i < settings.iterations; i++) tsne.step();
  const solution: number[][] = tsne.getSolution();
  return { points: solution.map((point) => [point[0], point[1]]), perplexity, pcaComponents, explainedVariance };
}
