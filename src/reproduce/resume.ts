/**
 * Continuing a stopped run in its own run folder (`tandem run --resume <run folder>`): the run's saved
 * config, its newest valid checkpoint, and the checks that the resumed part reads the same data.
 */
import { existsSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { fileSystemError, makeFolders, RUN_FILES } from '../artifacts/files.ts';
import { hashConfig } from '../artifacts/provenance.ts';
import { loadConfig, type LoadedConfig } from '../config/load.ts';
import type { DataFingerprint } from '../data/fingerprint.ts';
import { DataError, TandemError } from '../errors.ts';
import { readLatestCheckpoint, type LoadedCheckpoint } from '../train/checkpoint.ts';

/** The fields of run.json that resuming reads. Older run folders may lack the optional ones. */
export interface RecordedRun {
  status: string;
  startTime: string;
  command: string[];
  configFile: string;
  configSha256?: string;
  backend: { name: string };
  versions: Record<string, string>;
  source?: { commit: string | null };
  data: { root: string; fingerprint?: DataFingerprint };
  divergence?: { epoch: number; step: number; reason: string } | null;
  resumes?: ResumeRecord[];
}

/** One entry of run.json's `resumes`: when the run was continued, by which command and from which epoch. */
export interface ResumeRecord {
  time: string;
  command: string[];
  /** Epoch of the checkpoint that training continued from; 0 when it started over. */
  fromEpoch: number;
}

/** Everything `runExperiment` needs to continue a run. */
export interface ResumePlan {
  runDir: string;
  /** The config saved in the run folder (config.yaml), with data.root as run.json recorded it. */
  loaded: LoadedConfig;
  /** run.json as the stopped run left it. */
  previous: RecordedRun;
  /** The newest valid checkpoint; null when the run stopped before its first one, so training starts over. */
  checkpoint: LoadedCheckpoint | null;
  /** Problems that do not stop the resume, such as a damaged newer checkpoint that was skipped. */
  warnings: string[];
}

/**
 * Read the run folder `runDir` and plan its continuation. Throws a TandemError when the folder is not a
 * run folder, when the run is complete or diverged, or when its config no longer matches run.json.
 */
export function prepareResume(runDir: string): ResumePlan {
  const dir = path.resolve(runDir);
  const runFile = path.join(dir, RUN_FILES.run.name);
  if (!existsSync(runFile)) {
    const problem = existsSync(dir) ? `it has no ${RUN_FILES.run.name}` : 'the folder was not found';
    throw new TandemError(`Cannot resume ${dir}: ${problem}. Pass a run folder that \`tandem run\` created.`, {
      exitCode: 2,
    });
  }
  let previous: RecordedRun;
  try {
    previous = JSON.parse(readFileSync(runFile, 'utf8'));
  } catch (error) {
    throw new TandemError(`Cannot resume ${dir}: ${runFile} is not valid JSON (${(error as Error).message}).`, { cause: error });
  }
  if (existsSync(path.join(dir, RUN_FILES.complete.name)) || previous.status === 'complete') {
    throw new TandemError(`Run ${dir} is already complete, so there is nothing to resume. Start a new run with \`tandem run <config>\`.`);
  }
  if (previous.status === 'diverged') {
    const where = previous.divergence ? ` at epoch ${previous.divergence.epoch}, step ${previous.divergence.step}` : '';
    throw new TandemError(
      `Run ${dir} diverged${where}, and resuming it with the same settings would diverge again. ` +
        'Lower the learning rates in the config and start a new run.',
    );
  }

  const configFile = path.join(dir, RUN_FILES.config.name);
  const saved = loadConfig(configFile);
  // The VQA-RAD folder that the run read, which TANDEM_DATA_ROOT may have set rather than config.yaml.
  // For a manifest, run.json's data.root is the manifest file, which config.yaml names already.
  const root = saved.config.data.source === 'vqa-rad' ? previous.data.root : saved.config.data.root;
  const loaded: LoadedConfig = { ...saved, config: { ...saved.config, data: { ...saved.config.data, root } } };
  const configSha256 = hashConfig(loaded.config);
  if (previous.configSha256 !== undefined && previous.configSha256 !== configSha256) {
    throw new TandemError(
      `Cannot resume ${dir}: ${configFile} no longer matches the configSha256 in ${RUN_FILES.run.name}, so it was ` +
        'edited after the run started. Restore the file, or start a new run with the changed config.',
    );
  }

  const { checkpoint, skipped, skippedDirs } = readLatestCheckpoint(path.join(dir, RUN_FILES.checkpoints.name));
  const warnings = skipped.map((problem) => `Skipped a damaged checkpoint: ${problem}`);
  // The resumed run removes every other epoch folder after its first checkpoint, so a damaged one is
  // moved out of the way first, for the user to inspect or repair.
  for (const damaged of skippedDirs) {
    const movedTo = path.join(dir, RUN_FILES.damagedCheckpoints.name, `${path.basename(damaged)}-${Date.now()}`);
    try {
      makeFolders(path.dirname(movedTo));
      renameSync(damaged, movedTo);
    } catch (error) {
      throw fileSystemError(movedTo, error);
    }
    warnings.push(`Moved the damaged checkpoint ${damaged} to ${movedTo}.`);
  }
  if (checkpoint && checkpoint.configSha256 !== configSha256) {
    throw new TandemError(
      `Cannot resume ${dir}: checkpoint ${checkpoint.dir} was written with another config (configSha256 ` +
        `${checkpoint.configSha256}, and config.yaml gives ${configSha256}). Start a new run.`,
    );
  }
  if (!checkpoint) warnings.push(`Run ${dir} has no valid checkpoint, so training starts over at epoch 1 in the same folder.`);
  return { runDir: dir, loaded, previous, checkpoint, warnings };
}

/** Provenance of the resumed process, to compare with the stopped run. */
export interface CurrentProvenance {
  dataFingerprint: DataFingerprint;
  backend: string;
  versions: Record<string, string>;
  commit: string | null;
}

/**
 * Compare the resumed process with the stopped run. Throws a DataError when the data differs, because
 * the result would mix two data sets. Returns warnings for differences that only break bitwise equality
 * with an uninterrupted run: another backend, other package versions, another commit.
 */
export function compareWithStoppedRun(plan: ResumePlan, current: CurrentProvenance): string[] {
  const { previous } = plan;
  const recorded = previous.data.fingerprint;
  if (recorded && recorded.sha256 !== current.dataFingerprint.sha256) {
    throw new DataError(
      `Cannot resume ${plan.runDir}: the data set at ${previous.data.root} differs from the one the run started with ` +
        `(fingerprint ${current.dataFingerprint.sha256.slice(0, 12)}, recorded ${recorded.sha256.slice(0, 12)}; ` +
        `${current.dataFingerprint.images} images now, ${recorded.images} then). Point TANDEM_DATA_ROOT at the original data, or start a new run.`,
    );
  }
  const warnings: string[] = [];
  const bitwise = 'so the result may differ in the last bits from an uninterrupted run';
  if (previous.backend.name !== current.backend) {
    warnings.push(`The run started on backend ${previous.backend.name} and resumes on ${current.backend}, ${bitwise}.`);
  }
  for (const [name, version] of Object.entries(current.versions)) {
    const before = previous.versions[name];
    if (before !== undefined && before !== version) warnings.push(`${name} was ${before} and is now ${version}, ${bitwise}.`);
  }
  const commitBefore = previous.source?.commit ?? null;
  if (commitBefore !== null && current.commit !== null && commitBefore !== current.commit) {
    warnings.push(`The run started at commit ${commitBefore.slice(0, 12)} and resumes at ${current.commit.slice(0, 12)}, ${bitwise}.`);
  }
  return warnings;
}

/**
 * Return the run.json fields that a resumed run keeps from the stopped one: its start time, its original command
 * and config file, its checkpoint, and the list of resumes with this one added.
 */
export function resumedRecordFields(plan: ResumePlan, command: string[]): Pick<RecordedRun, 'startTime' | 'command' | 'configFile'> & {
  resumes: ResumeRecord[];
  checkpoint: { epoch: number; path: string } | null;
} {
  const { checkpoint, previous } = plan;
  const resume: ResumeRecord = { time: new Date().toISOString(), command, fromEpoch: checkpoint?.state.epoch ?? 0 };
  return {
    startTime: previous.startTime,
    command: previous.command,
    configFile: previous.configFile,
    resumes: [...(previous.resumes ?? []), resume],
    checkpoint: checkpoint ? { epoch: checkpoint.state.epoch, path: path.relative(plan.runDir, checkpoint.dir) } : null,
  };
}
