/**
 * The experiment schema: the single definition of every config field, its type, range, default and
 * description. The TypeScript type `ExperimentConfig` is derived from it, and ajv applies the defaults,
 * so no default lives anywhere else. Defaults marked "paper" follow Zhang et al., "TandemNet: Distilling
 * Knowledge from Medical Images Using Diagnostic Reports as Optional Semantic References", MICCAI 2017.
 * The annotation `filePath: true` marks a string that names a file or folder. The config loader resolves
 * a relative value against the folder of the config file that sets it, a base file included, and a
 * `--set` value against the working directory.
 */
import { Type, type Static, type TObject, type TSchema } from '@sinclair/typebox';

/** A string field restricted to a list of values, typed as their union. */
function StringEnum<const T extends readonly string[]>(values: T, options: Record<string, unknown>) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** An object whose unknown keys are errors and which defaults to `{}` so that nested defaults apply. */
function Section<T extends Record<string, TSchema>>(properties: T, description: string) {
  return Type.Object(properties, { additionalProperties: false, default: {}, description });
}

/** Every field name of every variant. */
type VariantFieldNames<V extends Record<string, Record<string, TSchema>>> = { [K in keyof V]: keyof V[K] }[keyof V];

/**
 * One object type per variant, discriminated by `type`. The fields of the other variants appear as
 * optional `undefined`, so that reading one without narrowing is allowed and gives undefined, as it does at run time.
 */
type VariantUnion<V extends Record<string, Record<string, TSchema>>> = {
  [K in keyof V]: { type: K } & Static<TObject<V[K]>> & { [F in Exclude<VariantFieldNames<V>, keyof V[K]>]?: undefined };
}[keyof V];

/**
 * A section whose fields depend on its `type`: `variants` maps each type to its own fields, typed as a
 * union discriminated by `type`. Every field of every type is listed in `properties`, so that an unknown
 * key is still an error and every range still applies. A field's default is filled in only under its own
 * type, by one if/then clause per type. A field set under another type is left to a cross-field check.
 */
function VariantSection<const V extends Record<string, Record<string, TSchema>>>(
  variants: V,
  defaultType: keyof V & string,
  typeDescription: string,
  description: string,
) {
  const properties: Record<string, unknown> = {
    type: { type: 'string', enum: Object.keys(variants), default: defaultType, description: typeDescription },
  };
  const clauses: unknown[] = [];
  for (const [variant, fields] of Object.entries(variants)) {
    const defaults: Record<string, { default: unknown }> = {};
    for (const [key, field] of Object.entries(fields)) {
      if (key in properties) throw new Error(`Field "${key}" is defined by two variants; give each its own name.`);
      const { default: value, ...rest } = field as TSchema & { default?: unknown };
      properties[key] = rest;
      if (value !== undefined) defaults[key] = { default: value };
    }
    // ajv runs these clauses before it fills in the default `type`, and a missing `type` matches every
    // `const`. So only the default type's clause may match a missing `type`.
    const condition =
      variant === defaultType
        ? { properties: { type: { const: variant } } }
        : { properties: { type: { const: variant } }, required: ['type'] };
    clauses.push({ if: condition, then: { properties: defaults } });
  }
  return Type.Unsafe<VariantUnion<V>>({
    type: 'object',
    additionalProperties: false,
    default: {},
    description,
    properties,
    allOf: clauses,
  });
}

export const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export const BLAS_SETTINGS = ['auto', 'openblas', 'off'] as const;
export const RESIZE_MODES = ['contain', 'cover', 'fill', 'crop'] as const;
export const ATTENTION_VARIANTS = ['joint', 'two-score-joint', 'separate'] as const;
export const SELECTION_METRICS = ['accuracyWithoutText', 'accuracyWithText', 'loss'] as const;
export const MODEL_TYPES = ['tandem', 'image-only'] as const;

const SplitSchema = Section(
  {
    testFraction: Type.Number({
      exclusiveMinimum: 0,
      exclusiveMaximum: 1,
      default: 0.2,
      description: 'Share of patients held out as the test set (paper: 0.2).',
    }),
    validationFraction: Type.Number({
      exclusiveMinimum: 0,
      exclusiveMaximum: 1,
      default: 0.2,
      description: 'Share of the remaining patients used for validation and model selection (paper: 0.2).',
    }),
  },
  'Patient-level split. Every image of a patient lands in the same split.',
);

const AugmentSchema = Section(
  {
    crop: Type.Boolean({
      default: true,
      description: 'Take a random imageSize crop of the resized image in training; evaluation takes the centre crop.',
    }),
    mirror: Type.Boolean({ default: true, description: 'Mirror training images left-right with probability 0.5.' }),
    rotationDegrees: Type.Number({
      minimum: 0,
      maximum: 180,
      default: 10,
      description: 'Rotate training images by a uniform random angle in [-rotationDegrees, rotationDegrees].',
    }),
  },
  'Seeded training-time augmentation.',
);

const DataSchema = Section(
  {
    source: StringEnum(['vqa-rad', 'manifest'] as const, {
      default: 'vqa-rad',
      description:
        'Data set reader. vqa-rad: the VQA-RAD release as published, in data.root. manifest: your own data, listed in the JSON Lines or CSV file data.manifest (format: docs/data-format.md).',
    }),
    root: Type.String({
      minLength: 1,
      filePath: true,
      default: '../../shared/data/vqa-rad',
      description:
        'Folder of the VQA-RAD release, relative to this config file; read when source is vqa-rad. The environment variable TANDEM_DATA_ROOT overrides it.',
    }),
    manifest: Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
      filePath: true,
      default: null,
      description:
        'Manifest file (.jsonl, .csv or .tsv) relative to this config file; required when source is manifest. Image paths in it are relative to its own folder.',
    }),
    labels: Type.Union([Type.Array(Type.String({ minLength: 1 }), { minItems: 2, uniqueItems: true }), Type.Null()], {
      default: null,
      description:
        'The class names in class-index order; an image with another label is an error. null: the labels found in the data, sorted alphabetically.',
    }),
    sentenceTypes: Type.Union([Type.Array(Type.String({ minLength: 1 }), { minItems: 1, uniqueItems: true }), Type.Null()], {
      default: null,
      description:
        'Manifest only: the feature type of each sentence position, so the k-th sentence of every report gets the k-th type, as in reports of one sentence per feature; a longer report is an error. null: sentences keep the type the manifest gives, or none.',
    }),
    includeOrganQuestions: Type.Boolean({
      default: false,
      description: 'Keep ORGAN questions in the reports. They name the label outright, so they are excluded by default.',
    }),
    maxImages: Type.Union([Type.Integer({ minimum: 3 }), Type.Null()], {
      default: null,
      description: 'Use only this many images, a seeded sample balanced over labels (null: all). For quick tests.',
    }),
    imageSize: Type.Integer({
      minimum: 16,
      maximum: 1024,
      default: 64,
      description: 'Side of the square network input in pixels.',
    }),
    resizeTo: Type.Integer({
      minimum: 16,
      maximum: 2048,
      default: 72,
      description: 'Side in pixels that each image is resized to once per run, before cropping; at least imageSize.',
    }),
    resizeMode: StringEnum(RESIZE_MODES, {
      default: 'contain',
      description:
        'How an image becomes resizeTo x resizeTo: contain (scale to fit, pad with black), cover (scale to cover, cut the centre), fill (stretch) or crop (cut the centre at full resolution without scaling, padding a smaller image with black; for large tiles such as H&E).',
    }),
    maxSentences: Type.Integer({
      minimum: 1,
      maximum: 256,
      default: 16,
      description: 'N: the most sentences read from one report. Later sentences are dropped; shorter reports are masked.',
    }),
    maxSentenceTokens: Type.Integer({
      minimum: 2,
      maximum: 256,
      default: 24,
      description: 'The most tokens kept per sentence, the end-of-sentence token included.',
    }),
    minWordCount: Type.Integer({
      minimum: 1,
      default: 1,
      description: 'Words seen fewer times than this in the training reports map to the unknown-word token.',
    }),
    split: SplitSchema,
    augment: AugmentSchema,
  },
  'Where the data comes from and how it becomes tensors.',
);

/** The fields of each backbone type; `model.backbone.type` selects one set. */
export const BACKBONE_FIELDS = {
  wrn: {
    depth: Type.Integer({ minimum: 10, default: 16, description: 'WRN depth d = 6n + 4 (paper: 16).' }),
    widenFactor: Type.Integer({ minimum: 1, maximum: 16, default: 4, description: 'WRN widen factor k (paper: 4).' }),
    dropout: Type.Number({
      minimum: 0,
      maximum: 0.95,
      default: 0.3,
      description: 'Dropout rate between the two convolutions of each residual block (paper: 0.3).',
    }),
  },
  resnet18: {
    weights: Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
      filePath: true,
      default: null,
      description:
        'A safetensors file with the weights of a torchvision or timm ResNet-18, relative to the config file that sets it (null: train from scratch). fc.* and *.num_batches_tracked are ignored.',
    }),
  },
};

const BackboneSchema = VariantSection(
  BACKBONE_FIELDS,
  'wrn',
  'Image backbone. wrn: pre-activation wide residual network WRN-depth-widenFactor (paper). resnet18: torchvision\'s ResNet-18, V = its last feature map before pooling (paper\'s "-TL" rows, with ImageNet weights).',
  'The CNN that turns an image into the feature map V (C channels at G positions). Its fields depend on `type`.',
);

const TextSchema = Section(
  {
    embeddingSize: Type.Integer({ minimum: 1, default: 128, description: 'Word embedding size K (paper: 128).' }),
    hiddenSize: Type.Integer({ minimum: 1, default: 256, description: 'LSTM hidden size D (paper: 256).' }),
    dropout: Type.Number({
      minimum: 0,
      maximum: 0.95,
      default: 0.4,
      description: 'Dropout rate on the word embeddings and on the LSTM outputs (paper: 0.4).',
    }),
  },
  'The language model that turns a report into S, one D-vector per sentence.',
);

const AttentionSchema = Section(
  {
    size: Type.Integer({ minimum: 1, default: 256, description: 'Embedding size M of V′ and S′ (paper: 256).' }),
    dropout: Type.Number({
      minimum: 0,
      maximum: 0.95,
      default: 0.5,
      description: 'Dropout rate on V and S before the attention embeddings (paper: 0.5).',
    }),
    variant: StringEnum(ATTENTION_VARIANTS, {
      default: 'joint',
      description:
        'joint: one score vector and one softmax over image positions and sentences (paper). two-score-joint: a score vector per modality, one joint softmax. separate: one softmax per modality, contexts summed.',
    }),
  },
  'Dual attention over image positions and sentences.',
);

const ModelSchema = Section(
  {
    type: StringEnum(MODEL_TYPES, {
      default: 'tandem',
      description:
        'tandem: TandemNet. image-only: the backbone, global average pooling, dropout (classifierDropout) and a linear classifier; it reads no text, ignores text, attention, skipConnection, textDropRate and scaleTextAtTest, and has no with-text accuracy.',
    }),
    backbone: BackboneSchema,
    text: TextSchema,
    attention: AttentionSchema,
    skipConnection: Type.Boolean({
      default: true,
      description: 'Visual skip-connection: classify c + mean(V′) instead of c alone (off: the paper\'s "-WVS" variant).',
    }),
    textDropRate: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.5,
      description: 'r: probability that a training mini-batch has its text features S set to zero (paper: 0.5).',
    }),
    scaleTextAtTest: Type.Boolean({
      default: true,
      description:
        'Scale S by (1 - r) when evaluating with text, as dropout does (the authors\' Torch7 code). false: no scaling (their later PyTorch code).',
    }),
    classifierDropout: Type.Number({
      minimum: 0,
      maximum: 0.95,
      default: 0.5,
      description: 'Dropout rate on the classifier input (paper: 0.5).',
    }),
  },
  'The TandemNet model.',
);

const SgdSchema = Section(
  {
    learningRate: Type.Number({ exclusiveMinimum: 0, default: 0.01, description: 'SGD learning rate (paper: 1e-2).' }),
    momentum: Type.Number({ minimum: 0, maximum: 0.999, default: 0.9, description: 'SGD momentum (paper: 0.9).' }),
    weightDecay: Type.Number({ minimum: 0, default: 5e-4, description: 'L2 weight decay added to the gradient (paper: 5e-4).' }),
  },
  'SGD with momentum for the CNN.',
);

const AdamSchema = Section(
  {
    learningRate: Type.Number({ exclusiveMinimum: 0, default: 1e-4, description: 'Adam learning rate (paper: 1e-4).' }),
    beta1: Type.Number({ minimum: 0, exclusiveMaximum: 1, default: 0.8, description: 'Adam beta1 (paper: 0.8).' }),
    beta2: Type.Number({ minimum: 0, exclusiveMaximum: 1, default: 0.999, description: 'Adam beta2 (paper: 0.999).' }),
    epsilon: Type.Number({ exclusiveMinimum: 0, default: 1e-8, description: 'Adam epsilon (paper: 1e-8).' }),
  },
  'Adam for the language model, the attention and the classifier.',
);

/** Training settings of one model part. */
function PartSchema(part: string) {
  return Section(
    {
      frozen: Type.Boolean({
        default: false,
        description:
          'Leave the part\'s parameters as initialised or loaded, and run it in evaluation mode: no dropout, batch norm with its running statistics, which stay unchanged.',
      }),
      learningRateScale: Type.Number({
        exclusiveMinimum: 0,
        default: 1,
        description: 'Factor on the learning rate of the part\'s optimiser (train.cnn or train.others), decayed with it.',
      }),
    },
    `Training settings of ${part}.`,
  );
}

const PartsSchema = Section(
  {
    cnn: PartSchema('the CNN (the backbone), trained by SGD'),
    text: PartSchema('the language model, trained by Adam'),
    attention: PartSchema('the dual attention, trained by Adam'),
    classifier: PartSchema('the classifier, trained by Adam'),
  },
  'Freezing and learning-rate factors per model part, for example to fine-tune a pretrained backbone at a lower rate.',
);

const TrainSchema = Section(
  {
    epochs: Type.Integer({ minimum: 1, maximum: 10000, default: 20, description: 'Training epochs (paper: 20).' }),
    batchSize: Type.Integer({ minimum: 1, maximum: 4096, default: 32, description: 'Mini-batch size (paper: 64).' }),
    cnn: SgdSchema,
    others: AdamSchema,
    parts: PartsSchema,
    learningRateDecay: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      default: 0.9,
      description: 'Both learning rates are multiplied by this after every epoch (paper: 0.9).',
    }),
    attentionGradientClip: Type.Number({
      exclusiveMinimum: 0,
      default: 0.1,
      description: 'The global L2 norm of the attention parameters\' gradient is clipped to this (paper: 0.1).',
    }),
    selectBy: StringEnum(SELECTION_METRICS, {
      default: 'accuracyWithoutText',
      description: 'Validation metric that picks the epoch whose weights are tested (loss: lowest loss without text).',
    }),
    workers: Type.Union([StringEnum(['auto'] as const, {}), Type.Integer({ minimum: 1, maximum: 64 })], {
      default: 'auto',
      description:
        'Worker threads that compute each step\'s gradient on their share of the batch (data parallelism). auto: one per core (at most 8) on the wasm backend, whose kernels use one core each, and 1 elsewhere. Above 1, batch norm normalises each share with its own statistics, so results depend on the count. Needs backend wasm or cpu.',
    }),
    microBatchSize: Type.Union([StringEnum(['auto'] as const, {}), Type.Integer({ minimum: 1, maximum: 4096 })], {
      default: 'auto',
      description:
        'The most samples that one worker computes at once; a larger share of the batch runs as several micro-batches whose gradients are averaged. auto: on the wasm backend, the largest that its 4 GiB heap holds by an estimate; unlimited elsewhere.',
    }),
  },
  'The training loop.',
);

const TsneSchema = Section(
  {
    perplexity: Type.Number({
      minimum: 1,
      maximum: 100,
      default: 10,
      description:
        'Effective number of neighbours of each point. Lowered to (samples - 1) / 3 for a test set too small for it.',
    }),
    iterations: Type.Integer({ minimum: 1, maximum: 10000, default: 1000, description: 'Gradient steps of the t-SNE optimisation.' }),
    learningRate: Type.Number({
      exclusiveMinimum: 0,
      default: 10,
      description: 'Step size of the t-SNE optimisation (10 is the default of tsnejs, whose algorithm this uses).',
    }),
    pcaDimensions: Type.Integer({
      minimum: 2,
      maximum: 1024,
      default: 50,
      description: 'Classifier inputs with more values than this are reduced to this many principal components before t-SNE.',
    }),
  },
  't-SNE of the classifier input of each test image, seeded from the experiment seed.',
);

const AnalysisSchema = Section(
  {
    attentionMaps: Type.Integer({
      minimum: 0,
      maximum: 500,
      default: 8,
      description:
        'Test images drawn with their image attention map and sentence weights; up to half of them misclassified.',
    }),
    tsne: TsneSchema,
  },
  'Analysis written after testing: confusion matrix figures, t-SNE, attention statistics and maps, report.html.',
);

const OutputSchema = Section(
  {
    root: Type.String({
      minLength: 1,
      filePath: true,
      default: '../results',
      description: 'Folder that receives results/<name>/<run id>/, relative to this config file.',
    }),
  },
  'Where run folders are written.',
);

/**
 * A sweep: `tandem run` runs one trial per point and seed instead of one run. It has no default, so a
 * config without it is a single run, and the trials' own configs leave it out.
 */
const SweepSchema = Type.Object(
  {
    grid: Type.Record(Type.String(), Type.Array(Type.Unknown(), { minItems: 1 }), {
      default: {},
      description:
        'Config path to the list of values it takes, such as `model.textDropRate: [0, 0.5, 1]`. The points are every combination of one value per path.',
    }),
    variants: Type.Record(Type.String(), Type.Record(Type.String(), Type.Unknown()), {
      default: {},
      description:
        'Named override sets, such as `TandemNet-WVS: { model.skipConnection: false }`, each a mapping of config paths to values. Each variant is combined with every grid point.',
    }),
    trials: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 3,
      description: 'Trials per point. Trial k (from 0) of a point runs with seed + k, so the seeds differ between trials.',
    }),
  },
  {
    additionalProperties: false,
    description: 'Runs of this config with values changed (grid points, variants) over several seeds, resumable, with a summary.',
  },
);

export const ExperimentSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
      maxLength: 100,
      description: 'Experiment name, used as the results folder name (letters, digits, dot, dash, underscore).',
    }),
    seed: Type.Integer({
      minimum: 0,
      maximum: 4294967295,
      default: 1234,
      description: 'Seed of every random choice: split, initialisation, shuffling, augmentation, dropout, text drop, t-SNE (paper: 1234).',
    }),
    backend: StringEnum(BACKENDS, {
      default: 'auto',
      description:
        'tfjs backend. auto: tensorflow-gpu when installed and a GPU is present, else tensorflow when installed, else wasm, else cpu.',
    }),
    blas: StringEnum(BLAS_SETTINGS, {
      default: 'auto',
      description:
        'Native matrix library for the convolutions and matrix products of the wasm backend. openblas: OpenBLAS through the optional npm package koffi, from the Debian package libopenblas0-pthread or libopenblas0-openmp or the path in the environment variable TANDEM_BLAS_LIBRARY, with a warning and XNNPACK inside wasm when either is missing. auto: the same without the warning. off: XNNPACK always. Other backends ignore it.',
    }),
    data: DataSchema,
    model: ModelSchema,
    train: TrainSchema,
    analysis: AnalysisSchema,
    output: OutputSchema,
    sweep: Type.Optional(SweepSchema),
  },
  { additionalProperties: false, description: 'A TandemNet experiment.' },
);

/** A fully resolved experiment config: every default applied, every value checked. */
export type ExperimentConfig = Static<typeof ExperimentSchema>;
export type DataConfig = ExperimentConfig['data'];
export type ModelConfig = ExperimentConfig['model'];
export type TrainConfig = ExperimentConfig['train'];
export type AnalysisConfig = ExperimentConfig['analysis'];
export type SweepConfig = NonNullable<ExperimentConfig['sweep']>;
export type BackendName = (typeof BACKENDS)[number];
export type BlasSetting = (typeof BLAS_SETTINGS)[number];
