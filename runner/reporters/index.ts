/**
 * Choosing and creating the reporter of `tandem run`: the Ink screen on a terminal, plain lines in CI or
 * when piped, JSON lines on request.
 */
import { UsageError } from '../command.ts';
import { jsonReporter } from './json.ts';
import { plainReporter } from './plain.ts';
import { UI_KINDS, type Reporter, type UiKind } from './reporter.ts';

export { InterruptHandler, runInterruptible } from './interrupts.ts';
export { UI_KINDS, type Reporter, type ReporterEvent, type UiKind } from './reporter.ts';

/**
 * Return whether CI is set, by the test that Ink 6.8 applies (its is-in-ci dependency): CI or
 * CONTINUOUS_INTEGRATION present and neither "0" nor "false". In CI Ink draws only the last frame, so the
 * plain lines serve better.
 */
export function isCi(env: NodeJS.ProcessEnv): boolean {
  return ['CI', 'CONTINUOUS_INTEGRATION'].some((key) => key in env && env[key] !== '0' && env[key] !== 'false');
}

/** Return whether styled output is allowed. NO_COLOR, when set and not empty, turns off every color and style. */
export function colorsEnabled(env: NodeJS.ProcessEnv): boolean {
  return !env.NO_COLOR;
}

/**
 * Choose the reporter that `--ui` requests. Without it, choose the Ink screen when stdout is a terminal that
 * can redraw (TERM is not "dumb") and CI is not set, else plain lines.
 */
export function chooseUi(requested: string | undefined, stdoutIsTerminal: boolean, env: NodeJS.ProcessEnv): UiKind {
  if (requested !== undefined) {
    if (!(UI_KINDS as readonly string[]).includes(requested)) {
      throw new UsageError(`Invalid value "${requested}" for --ui. Expected one of: ${UI_KINDS.join(', ')}.`);
    }
    return requested as UiKind;
  }
  if (!stdoutIsTerminal || isCi(env) || env.TERM === 'dumb') return 'plain';
  return 'ink';
}

export interface ReporterStreams {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

/** Create the reporter of `kind`; Ink and React are loaded only for the Ink screen. */
export async function createReporter(kind: UiKind, { stdout, stderr, env }: ReporterStreams): Promise<Reporter> {
  const toStdout = (line: string) => stdout.write(`${line}\n`);
  const toStderr = (line: string) => stderr.write(`${line}\n`);
  switch (kind) {
    case 'ink': {
      const { inkReporter } = await import('./ink.ts');
      return inkReporter({ stdout, stderr, colors: colorsEnabled(env) });
    }
    case 'plain':
      return plainReporter(toStdout, toStderr);
    case 'json':
      return jsonReporter(toStdout, toStderr);
  }
}
