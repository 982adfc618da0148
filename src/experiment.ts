/**
 * One experiment run from a resolved config: select the backend, load the data, train, test without and
 * with text, and write every result into a new run folder.
 */
import path from 'node:path';
import { RunFolder, RUN_FILES } from './artifacts/files.ts';
import { hostInfo, packageVersion, readSourceState } from './artifacts/provenance.ts';
import { writeConfusionMatrices, writeHistory, writePredictions, writeSplit } from './artifacts/results.ts';
import { selectBackend } from './backend/select.ts';
import { renderConfig } from './config/render.ts';
import type { ExperimentConfig } from './config/schema.ts';
import { loadData } from './data/index.ts';
import { predict } from './evaluate/evaluate.ts';
import type { EventListener, TandemEvent } from './events.ts';
import { TandemNet } from './model/tandem-net.ts';
import { Random } from './random.ts';
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
}

export type RunStatus = 'complete' | 'interrupted' | 'failed';

export interface RunSummary {
  status: RunStatus;
  runDir: string;
  bestEpoch: number;
  testAccuracyWithoutText: number | null;
  testAccuracyWithText: number | null;
}

/** Run the experiment; user mistakes surface as TandemError before any run folder is created. */
export async function runExperiment(options: RunOptions): Promise<RunSummary> {
  const { config, configFile } = options;
  const configDir = path.dirname(configFile);
  const started = new Date();
  const random = new Random(config.seed);

  const backend = await selectBackend(config.backend);
  for (const message of backend.warnings) options.emit({ type: 'warning', message });

  const loadStarted = performance.now();
  const data = await loadData(config, configDir);
  const folder = RunFolder.create(path.resolve(configDir, config.output.root), config.name, started);
  // From here on every event is also kept in the run folder.
  const emit: EventListener = (event: TandemEvent) => {
    folder.appendLine('events', JSON.stringify({ time: new Date().toISOString(), ...event }));
    options.emit(event);
  };
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

  folder.writeText('config', renderConfig(config, { configDir }));
  writeSplit(folder, data);
  const runRecord = {
    status: 'running' as RunStatus | 'running',
    experiment: config.name,
    seed: config.seed,
    configFile,
    command: options.command ?? process.argv,
    startTime: started.toISOString(),
    endTime: null as string | null,
    backend: {
      name: backend.name,
      tfjsBackend: backend.tfjsBackend,
      deterministic: backend.deterministic,
      note: backend.note,
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
    },
    error: null as string | null,
  };
  folder.writeJson('run', runRecord);

  const model = new TandemNet(
    config.model,
    { vocabularySize: data.vocabulary.size, classes: data.classes.length, sentences: config.data.maxSentences },
    random,
  );
  const trainer = new Trainer({ config, data, model, random, emit, signal: options.signal });
  try {
    const parameters = model.store.countParameters();
    emit({ type: 'model-built', parameters: parameters.total, parametersByPart: parameters.byPart });

    const result = await trainer.run();
    writeHistory(folder, result.history);
    if (result.interrupted) {
      runRecord.status = 'interrupted';
      runRecord.endTime = new Date().toISOString();
      folder.writeJson('run', runRecord);
      return { status: 'interrupted', runDir: folder.dir, bestEpoch: result.bestEpoch, testAccuracyWithoutText: null, testAccuracyWithText: null };
    }

    const withoutText = predict(model, data.test, data, config, false);
    emit({ type: 'evaluation', split: 'test', withText: false, accuracy: withoutText.accuracy, samples: data.test.length });
    const withText = predict(model, data.test, data, config, true);
    emit({ type: 'evaluation', split: 'test', withText: true, accuracy: withText.accuracy, samples: data.test.length });

    const { matrices } = writeConfusionMatrices(folder, data.classes, withoutText, withText);
    writePredictions(folder, data.classes, withoutText, withText);
    const best = result.history[result.bestEpoch - 1];
    folder.writeJson('metrics', {
      bestEpoch: result.bestEpoch,
      selectBy: config.train.selectBy,
      test: {
        samples: data.test.length,
        accuracyWithoutText: withoutText.accuracy,
        accuracyWithText: withText.accuracy,
        lossWithoutText: withoutText.loss,
        lossWithText: withText.loss,
      },
      validationAtBestEpoch: best?.validation ?? null,
      confusionWithoutText: matrices.withoutText.counts,
      confusionWithText: matrices.withText.counts,
      classes: data.classes,
    });
    for (const file of ['metrics', 'confusionWithoutText', 'confusionWithText', 'predictions', 'history'] as const) {
      emit({ type: 'artifact-written', path: folder.path(file), description: RUN_FILES[file].description });
    }

    runRecord.status = 'complete';
    runRecord.endTime = new Date().toISOString();
    folder.writeJson('run', runRecord);
    emit({
      type: 'run-end',
      runDir: folder.dir,
      bestEpoch: result.bestEpoch,
      testAccuracyWithoutText: withoutText.accuracy,
      testAccuracyWithText: withText.accuracy,
      seconds: (Date.now() - started.getTime()) / 1000,
    });
    return {
      status: 'complete',
      runDir: folder.dir,
      bestEpoch: result.bestEpoch,
      testAccuracyWithoutText: withoutText.accuracy,
      testAccuracyWithText: withText.accuracy,
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
    throw error;
  } finally {
    trainer.dispose();
    model.dispose();
  }
}
