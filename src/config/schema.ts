/**
 * The experiment schema: the single definition of every config field, its type, range, default and
 * description. The TypeScript type `ExperimentConfig` is derived from it, and ajv applies the defaults,
 * so no default lives anywhere else. Defaults marked "paper" follow Zhang et al., "TandemNet: Distilling
 * Knowledge from Medical Images Using Diagnostic Reports as Optional Semantic References", MICCAI 2017.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** A string field restricted to a list of values, typed as their union. */
function StringEnum<const T extends readonly string[]>(values: T, options: Record<string, unknown>) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** An object whose unknown keys are errors and which defaults to `{}` so that nested defaults apply. */
function Section<T extends Record<string, TSchema>>(properties: T, description: string) {
  return Type.Object(properties, { additionalProperties: false, default: {}, description });
}

export const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export const RESIZE_MODES = ['contain', 'cover', 'fill'] as const;
export const ATTENTION_VARIANTS = ['joint', 'two-score-joint', 'separate'] as const;
export const SELECTION_METRICS = ['accuracyWithoutText', 'accuracyWithText', 'loss'] as const;

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
    source: StringEnum(['vqa-rad'] as const, {
      default: 'vqa-rad',
      description: 'Data set reader. `vqa-rad` reads the VQA-RAD release as published.',
    }),
    root: Type.String({
      minLength: 1,
      default: '../../shared/data/vqa-rad',
      description:
        'Folder of the data set, relative to this config file. The environment variable TANDEM_DATA_ROOT overrides it.',
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
      description: 'How a non-square image becomes square: contain (pad with black), cover (centre crop) or fill (stretch).',
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

const BackboneSchema = Section(
  {
    type: StringEnum(['wrn'] as const, {
      default: 'wrn',
      description: 'Image backbone. `wrn`: pre-activation wide residual network WRN-depth-widenFactor.',
    }),
    depth: Type.Integer({ minimum: 10, default: 16, description: 'WRN depth d = 6n + 4 (paper: 16).' }),
    widenFactor: Type.Integer({ minimum: 1, maximum: 16, default: 4, description: 'WRN widen factor k (paper: 4).' }),
    dropout: Type.Number({
      minimum: 0,
      maximum: 0.95,
      default: 0.3,
      description: 'Dropout rate between the two convolutions of each residual block (paper: 0.3).',
    }),
  },
  'The CNN that turns an image into the feature map V (C channels at G positions).',
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

const TrainSchema = Section(
  {
    epochs: Type.Integer({ minimum: 1, maximum: 10000, default: 20, description: 'Training epochs (paper: 20).' }),
    batchSize: Type.Integer({ minimum: 1, maximum: 4096, default: 32, description: 'Mini-batch size (paper: 64).' }),
    cnn: SgdSchema,
    others: AdamSchema,
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
  },
  'The training loop.',
);

const OutputSchema = Section(
  {
    root: Type.String({
      minLength: 1,
      default: '../results',
      description: 'Folder that receives results/<name>/<run id>/, relative to this config file.',
    }),
  },
  'Where run folders are written.',
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
      description: 'Seed of every random choice: split, initialisation, shuffling, augmentation, dropout, text drop (paper: 1234).',
    }),
    backend: StringEnum(BACKENDS, {
      default: 'auto',
      description:
        'tfjs backend. auto: tensorflow-gpu when installed and a GPU is present, else tensorflow when installed, else wasm, else cpu.',
    }),
    data: DataSchema,
    model: ModelSchema,
    train: TrainSchema,
    output: OutputSchema,
  },
  { additionalProperties: false, description: 'A TandemNet experiment.' },
);

/** A fully resolved experiment config: every default applied, every value checked. */
export type ExperimentConfig = Static<typeof ExperimentSchema>;
export type DataConfig = ExperimentConfig['data'];
export type ModelConfig = ExperimentConfig['model'];
export type TrainConfig = ExperimentConfig['train'];
export type BackendName = (typeof BACKENDS)[number];
