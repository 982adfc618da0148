/**
 * The process of one sweep trial, which `tandem run` starts for each trial of a config with a sweep
 * section. It runs the trial's config as `tandem run` would, writes plain progress lines to stdout (the
 * trial's log), and sends its run folder and outcome to the sweep process over the IPC channel. It stops
 * after the current training step on SIGINT or SIGTERM, and when the sweep process ends (the IPC channel
 * closes, as after a `kill -9` of the sweep).
 *
 * Usage: node --import tsx runner/trial-worker.ts <trial config.yaml>
 */
import { loadConfig, formatWarnings } from '../src/config/load.ts';
import { ConfigError } from '../src/config/problems.ts';
import { TandemError } from '../src/errors.ts';
import type { TandemEvent } from '../src/events.ts';
import { runExperiment } from '../src/experiment.ts';
import { TRIAL_EXIT_CODES, type TrialMessage, type TrialOutcome } from '../src/sweep/protocol.ts';
import { plainReporter } from './reporters/plain.ts';

const controller = new AbortController();
let stopReason: string | null = null;

function stop(reason: string): void {
  if (controller.signal.aborted) return;
  stopReason = reason;
  controller.abort();
}

/** Sends a message to the sweep process, if it still listens, and resolves once it is sent. */
function send(message: TrialMessage): Promise<void> {
  if (!process.connected || process.send === undefined) return Promise.resolve();
  return new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
}

async function runTrial(configFile: string): Promise<{ outcome: TrialOutcome; reason: string | null }> {
  const loaded = loadConfig(configFile);
  const warnings = formatWarnings(loaded);
  if (warnings) process.stderr.write(`${warnings}\n`);

  const reporter = plainReporter(
    (line) => process.stdout.write(`${line}\n`),
    (line) => process.stderr.write(`${line}\n`),
  );
  const emit = (event: TandemEvent) => {
    reporter.emit(event);
    if (event.type === 'run-start') void send({ type: 'run-folder', runDir: event.runDir });
  };

  const summary = await runExperiment({
    config: loaded.config,
    configFile: loaded.file,
    emit,
    signal: controller.signal,
    command: ['tandem', 'run', configFile],
  });
  switch (summary.status) {
    case 'complete':
      return { outcome: 'done', reason: null };
    case 'diverged': {
      const where = summary.divergence === undefined ? '' : ` at epoch ${summary.divergence.epoch}, step ${summary.divergence.step}: ${summary.divergence.reason}`;
      process.stderr.write(`Training diverged${where}. No test metrics were written.\n`);
      return { outcome: 'diverged', reason: `training diverged${where}` };
    }
    case 'failed':
      return { outcome: 'failed', reason: 'the run failed' };
    case 'interrupted':
      return { outcome: 'interrupted', reason: stopReason };
  }
}

/**
 * Joins the lines of a message into one line of at most `limit` characters for the summary's list of
 * failed trials. The log keeps the whole message.
 */
function oneLine(message: string, limit = 600): string {
  const line = message
    .split('\n')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .join(' ');
  return line.length <= limit ? line : `${line.slice(0, limit - 3)}...`;
}

async function main(): Promise<number> {
  const configFile = process.argv[2];
  if (configFile === undefined || process.argv.length !== 3) {
    process.stderr.write('Usage: node --import tsx runner/trial-worker.ts <trial config.yaml>\n');
    return TRIAL_EXIT_CODES.invalidConfig;
  }
  process.on('SIGINT', () => stop('stopped by SIGINT'));
  process.on('SIGTERM', () => stop('stopped by SIGTERM'));
  process.on('disconnect', () => stop('the sweep process ended'));
  // Node.js reads the IPC channel, and so notices that it closed, only while something listens for
  // messages. unref keeps that listener from holding the process open once the trial is over.
  process.on('message', () => {});
  process.channel?.unref();

  let result: { outcome: TrialOutcome; reason: string | null };
  let code: number;
  try {
    result = await runTrial(configFile);
    code = TRIAL_EXIT_CODES[result.outcome];
  } catch (error) {
    if (error instanceof TandemError) {
      process.stderr.write(`${error.message}\n`);
      result = { outcome: 'failed', reason: oneLine(error.message) };
      code = error instanceof ConfigError ? TRIAL_EXIT_CODES.invalidConfig : TRIAL_EXIT_CODES.failed;
    } else {
      process.stderr.write(`Internal error (please report it with the trial config):\n${(error as Error).stack ?? error}\n`);
      result = { outcome: 'failed', reason: `internal error: ${(error as Error).message}` };
      code = TRIAL_EXIT_CODES.failed;
    }
  }
  await send({ type: 'outcome', outcome: result.outcome, reason: result.reason });
  return code;
}

process.exit(await main());
