/**
 * One experiment run from a resolved config: select the backend, load the data, train, test without and
 * with text, and write every result into a new run folder.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { writeAnalysis } from './analysis/index.ts';
import { RunFolder, RUN_FILES } from './artifacts/files.ts';
import { hashConfig, hostInfo, packageVersion, readSourceState } from './artifacts/provenance.ts';
import { writeConfusionMatrices, writeHistory, writePredictions, writeSplit } from './artifacts/results.ts';
import { selectBackend, setBlasThreads } from './backend/select.ts';
import { renderConfig } from './config/render.ts';
import type { ExperimentConfig } from './config/schema.ts';
import { fingerprintData } from './data/fingerprint.ts';
import { loadData } from './data/index.ts';
import { predict } from './evaluate/evaluate.ts';
import type { EventListener, TandemEvent } from './events.ts';
import { buildModel } from './model/model.ts';
import { describeParallelPlan, planParallelism } from './parallel/plan.ts';
import { ShardedTraining } from './parallel/sharded-training.ts';
import { Random } from './random.ts';
import { compareWithStoppedRun, resumedRecordFields, type ResumePlan } from './reproduce/resume.ts';
import { pauseAfterStepForTests } from './reproduce/test-pauses.ts';
import { writeCheckpoint, type TrainingState } from './train/checkpoint.ts';
import type { Divergence } from './train/divergence.ts';
import { Trainer } from './train/train.ts';

export interface RunOptions {
  config: ExperimentConfig;
  /** Absolute path of the config file; relative paths in the config resolve against its folder. */
  configFile: string;
  emit: EventListener;
  /** When aborted, training stops after the current step and the run is recorded as interrupted. */
  signal?: AbortSignal;
  /** The command line, recorded in run.json. */
  command?: string[];
  /** Continue this stopped run in its own folder instead of starting a new one; from `prepareResume`. */
  resume?: ResumePlan;
}

export type RunStatus = 'complete' | 'interrupted' | 'failed' | 'diverged';

export interface RunSummary {
  status: RunStatus;
  runDir: string;
  bestEpoch: number;
  testAccuracyWithoutText: number | null;
  testAccuracyWithText: number | null;
  /** The place and cause of the divergence, when `status` is 'diverged'. */
  divergence?: Divergence;
}

/** Run the experiment; user mistakes surface as TandemError before any run folder is created. */
export async function runExperiment(options: RunOptions): Promise<RunSummary> {
  const { config, configFile } = options;
  const configDir = path.dirname(configFile);
  const started = new Date();
  const random = new Random(config.seed);

  const backend = await selectBackend(config.backend, { blas: config.blas ?? 'auto' });
  for (const message of backend.warnings) options.emit({ type: 'warning', message });
  // Resolved before any run folder exists, so that an invalid worker setting leaves nothing behind.
  const parallel = planParallelism(config, backend.name, availableParallelism(), backend.blas.maxThreads);
  // With worker threads, each worker's OpenBLAS keeps one thread; without, this thread takes every core.
  const blasThreads = await setBlasThreads(parallel.workers > 1 ? 1 : availableParallelism());

  const loadStarted = performance.now();
  const data = await loadData(config, configDir);
  const configSha256 = hashConfig(config);
  const dataFingerprint = await fingerprintData(config.data, configDir);
  const command = options.command ?? process.argv;
  const resumeWarnings = options.resume
    ? compareWithStoppedRun(options.resume, {
        dataFingerprint,
        backend: backend.name,
        versions: backend.versions,
        commit: readSourceState().commit,
      })
    : [];
  const folder = options.resume
    ? RunFolder.open(options.resume.runDir)
    : RunFolder.create(path.resolve(configDir, config.output.root), config.name, started);
  // From here on every event is also kept in the run folder.
  const emit: EventListener = pauseAfterStepForTests((event: TandemEvent) => {
    folder.appendLine('events', JSON.stringify({ time: new Date().toISOString(), ...event }));
    options.emit(event);
  });
  emit({ type: 'run-start', experiment: config.name, runDir: folder.dir, backend: backend.name, configPath: configFile });
  emit({
    type: 'data-loaded',
    images: data.images,
    patients: data.patients,
    classes: data.classes,
    counts: { train: data.train.length, validation: data.validation.length, test: data.test.length },
    vocabularySize: data.vocabulary.size,
    seconds: (performance.now() - loadStarted) / 1000,
  });
  for (const message of data.warnings ?? []) emit({ type: 'warning', message });
  for (const message of [...resumeWarnings, ...(options.resume?.warnings ?? [])]) emit({ type: 'warning', message });

  // A resumed run keeps the files it wrote first: the same seed gives the same split.
  if (!options.resume) {
    folder.writeText('config', renderConfig(config, { configDir }));
    writeSplit(folder, data);
  }
  const runRecord = {
    status: 'running' as RunStatus | 'running',
    experiment: config.name,
    seed: config.seed,
    configFile,
    configSha256,
    command,
    startTime: started.toISOString(),
    endTime: null as string | null,
    backend: {
      name: backend.name,
      tfjsBackend: backend.tfjsBackend,
      deterministic: backend.deterministic,
      note: backend.note,
      blas: { ...backend.blas, threads: blasThreads },
    },
    versions: { tandem: packageVersion('tandem') ?? '0.1.0', ...backend.versions },
    source: readSourceState(),
    host: hostInfo(),
    data: {
      root: data.root,
      images: data.images,
      patients: data.patients,
      classes: data.classes,
      emptyReports: data.emptyReports,
      vocabularySize: data.vocabulary.size,
      samples: { train: data.train.length, validation: data.validation.length, test: data.test.length },
      fingerprint: dataFingerprint,
    },
    /** The newest checkpoint, its path relative to the run folder. */
    checkpoint: null as { epoch: number; path: string } | null,
    divergence: null as (Divergence & { checkpointEpoch: number | null }) | null,
    resumes: [] as ReturnType<typeof resumedRecordFields>['resumes'],
    parallel: describeParallelPlan(parallel),
    error: null as string | null,
  };
  if (options.resume) Object.assign(runRecord, resumedRecordFields(options.resume, command));
  folder.writeJson('run', runRecord);
  // run.json names a checkpoint only once it is in place, so it never points at a missing one.
  const saveCheckpoint = async (state: TrainingState) => {
    const dir = await writeCheckpoint(folder.path('checkpoints'), state, configSha256);
    runRecord.checkpoint = { epoch: state.epoch, path: path.relative(folder.dir, dir) };
    folder.writeJson('run', runRecord);
  };

  const model = buildModel(
    config.model,
    { vocabularySize: data.vocabulary.size, classes: data.classes.length, sentences: config.data.maxSentences },
    random,
    { configDir },
  );
  // Its worker threads start now and get ready while the first batch is built.
  const sharded = parallel.sharded
    ? new ShardedTraining({ config, model, backend: backend.name, workers: parallel.workers, maxShardSize: parallel.maxShardSize })
    : undefined;
  const trainer = new Trainer({
    config,
    data,
    model,
    random,
    emit,
    signal: options.signal,
    resume: options.resume?.checkpoint?.state,
    onEpochEnd: saveCheckpoint,
    sharded,
  });
  try {
    const parameters = model.store.countParameters();
    emit({ type: 'model-built', parameters: parameters.total, parametersByPart: parameters.byPart });

    const result = await trainer.run();
    writeHistory(folder, result.history);
    if (result.divergence) {
      const checkpointEpoch = runRecord.checkpoint?.epoch ?? null;
      runRecord.status = 'diverged';
      runRecord.endTime = new Date().toISOString();
      runRecord.divergence = { ...result.divergence, checkpointEpoch };
      folder.writeJson('run', runRecord);
      const seconds = (Date.now() - started.getTime()) / 1000;
      emit({ type: 'run-diverged', runDir: folder.dir, ...result.divergence, checkpointEpoch, seconds });
      return {
        status: 'diverged',
        runDir: folder.dir,
        bestEpoch: result.bestEpoch,
        testAccuracyWithoutText: null,
        testAccuracyWithText: null,
        divergence: result.divergence,
      };
    }
    if (result.interrupted) {
      runRecord.status = 'interrupted';
      runRecord.endTime = new Date().toISOString();
      folder.writeJson('run', runRecord);
      emit({
        type: 'run-interrupted',
        runDir: folder.dir,
        completedEpochs: result.history.length,
        epochs: config.train.epochs,
        bestEpoch: result.bestEpoch,
        checkpointEpoch: runRecord.checkpoint?.epoch ?? null,
        seconds: (Date.now() - started.getTime()) / 1000,
      });
      return { status: 'interrupted', runDir: folder.dir, bestEpoch: result.bestEpoch, testAccuracyWithoutText: null, testAccuracyWithText: null };
    }

    const testProgress = (withText: boolean) => (done: number) =>
      emit({ type: 'evaluation-progress', split: 'test', withText, done, total: data.test.length });
    const withoutText = predict(model, data.test, data, config, false, testProgress(false));
    emit({ type: 'evaluation', split: 'test', withText: false, accuracy: withoutText.accuracy, samples: data.test.length });
    // A model that reads no text (model.type image-only) has no with-text test, so its metrics record null.
    const withText = model.readsText ? predict(model, data.test, data, config, true, testProgress(true)) : null;
    if (withText) emit({ type: 'evaluation', split: 'test', withText: true, accuracy: withText.accuracy, samples: data.test.length });

    const { matrices, reports } = writeConfusionMatrices(folder, data.classes, withoutText, withText);
    writePredictions(folder, data.classes, withoutText, withText);
    const best = result.history[result.bestEpoch - 1];
    folder.writeJson('metrics', {
      bestEpoch: result.bestEpoch,
      selectBy: config.train.selectBy,
      test: {
        samples: data.test.length,
        accuracyWithoutText: withoutText.accuracy,
        accuracyWithText: withText?.accuracy ?? null,
        lossWithoutText: withoutText.loss,
        lossWithText: withText?.loss ?? null,
        ...(withText ? {} : { withTextNote: `not applicable: model.type ${config.model.type} reads no text` }),
      },
      validationAtBestEpoch: best?.validation ?? null,
      confusionWithoutText: matrices.withoutText.counts,
      confusionWithText: matrices.withText?.counts ?? null,
      classificationWithoutText: reports.withoutText,
      classificationWithText: reports.withText,
      classes: data.classes,
    });
    for (const file of ['metrics', 'confusionWithoutText', 'confusionWithText', 'predictions', 'history'] as const) {
      if (file === 'confusionWithText' && !withText) continue;
      emit({ type: 'artifact-written', path: folder.path(file), description: RUN_FILES[file].description });
    }
    await writeAnalysis({ folder, config, data, withoutText, withText, matrices, reports, bestEpoch: result.bestEpoch, emit });

    runRecord.status = 'complete';
    runRecord.endTime = new Date().toISOString();
    folder.writeJson('run', runRecord);
    // The marker comes last: a folder without it is unfinished, whatever else it contains.
    folder.writeText('complete', '');
    emit({
      type: 'run-end',
      runDir: folder.dir,
      bestEpoch: result.bestEpoch,
      testAccuracyWithoutText: withoutText.accuracy,
      testAccuracyWithText: withText?.accuracy ?? null,
      seconds: (Date.now() - started.getTime()) / 1000,
    });
    return {
      status: 'complete',
      runDir: folder.dir,
      bestEpoch: result.bestEpoch,
      testAccuracyWithoutText: withoutText.accuracy,
      testAccuracyWithText: withText?.accuracy ?? null,
    };
  } catch (error) {
    runRecord.status = 'failed';
    runRecord.endTime = new Date().toISOString();
    runRecord.error = (error as Error).message;
    try {
      folder.writeJson('run', runRecord);
    } catch {
      // The original error matters more than a failed status update (a full disk, say).
    }
    try {
      emit({ type: 'error', message: (error as Error).message, runDir: folder.dir });
    } catch {
      // Writing the event log can fail for the same reason; the error is thrown below either way.
    }
    throw error;
  } finally {
    await sharded?.close();
    trainer.dispose();
    model.dispose();
  }
}
