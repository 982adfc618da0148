/**
 * Helpers for the reproducibility tests: smoke configs in temporary folders, the real `tandem` command,
 * and waiting for a run to reach a given point.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const realDataRoot = path.resolve(projectRoot, '../shared/data/vqa-rad');

/** Temporary folders of this test file, removed when its process exits. */
const temporaryFolders: string[] = [];
process.on('exit', () => {
  for (const dir of temporaryFolders) rmSync(dir, { recursive: true, force: true });
});

/** Create a temporary folder that is removed when the test process exits. */
export function temporaryFolder(prefix = 'tandem-reproduce-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  temporaryFolders.push(dir);
  return dir;
}

/** Files of a run folder that record times or durations, so they differ between identical runs. */
export const TIMED_FILES = ['run.json', 'events.ndjson', 'history.json', 'history.csv', 'analysis.json', 'report.html'];

/**
 * Write configs/smoke.yaml, changed by `edit`, into a new temporary folder whose results/ receives the
 * run folders. Returns the config file and that results folder.
 */
export function smokeConfig(edit: (config: Record<string, any>) => void = () => {}): { file: string; results: string } {
  const dir = temporaryFolder();
  const config = parse(readFileSync(path.join(projectRoot, 'configs/smoke.yaml'), 'utf8'));
  config.data = { ...config.data, root: realDataRoot };
  config.output = { root: path.join(dir, 'results') };
  edit(config);
  const file = path.join(dir, 'smoke.yaml');
  writeFileSync(file, stringify(config));
  return { file, results: path.join(dir, 'results', config.name) };
}

function environment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true', ...extra };
  if (!('TANDEM_DATA_ROOT' in extra)) delete env.TANDEM_DATA_ROOT;
  for (const name of ['TANDEM_TEST_PAUSE_AFTER_STEP', 'TANDEM_TEST_PAUSE_IN_CHECKPOINT']) {
    if (!(name in extra)) delete env[name];
  }
  return env;
}

/** Run the real `tandem` command to its end. */
export function tandem(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [path.join(projectRoot, 'runner/tandem.js'), ...args], {
    cwd: projectRoot,
    env: environment(env),
    encoding: 'utf8',
    timeout: 5 * 60 * 1000,
  });
}

/** Start the real `tandem` command without waiting; `exited` settles with its exit code or signal. */
export function startTandem(args: string[], env: Record<string, string> = {}): { child: ChildProcess; exited: Promise<string> } {
  const child = spawn(process.execPath, [path.join(projectRoot, 'runner/tandem.js'), ...args], {
    cwd: projectRoot,
    env: environment(env),
    stdio: 'ignore',
  });
  const exited = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? `exit ${code}`)));
  return { child, exited };
}

/** Poll `condition` every 20 ms until it returns true; throws after `timeoutMs` naming `what`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 3 * 60 * 1000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await sleep(20);
  }
}

/** Return the only run folder under `results`, or undefined while there is none. */
export function onlyRunFolder(results: string): string | undefined {
  if (!existsSync(results)) return undefined;
  const runs = readdirSync(results);
  if (runs.length > 1) throw new Error(`Expected one run folder in ${results}, found ${runs.join(', ')}.`);
  return runs.length === 1 ? path.join(results, runs[0]) : undefined;
}

export function readJson(file: string): any {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** Read the events of a run so far, leaving out a last line that is still being written. */
export function readEvents(runDir: string): any[] {
  const file = path.join(runDir, 'events.ndjson');
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.pop();
  return lines.map((line) => JSON.parse(line));
}

/** Read the tensor file of the newest checkpoint of a run folder. */
export function finalTensors(runDir: string): Buffer {
  const folders = readdirSync(path.join(runDir, 'checkpoints')).filter((name) => /^epoch-\d+$/.test(name)).sort();
  return readFileSync(path.join(runDir, 'checkpoints', folders[folders.length - 1], 'tensors.safetensors'));
}

/** history.json without the `seconds` of each epoch, which differ between identical runs. */
export function historyWithoutTimes(runDir: string): unknown[] {
  return readJson(path.join(runDir, 'history.json')).map(({ seconds, ...rest }: { seconds: number }) => rest);
}
