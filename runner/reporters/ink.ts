/**
 * The Ink screen as a reporter: each event updates the screen state, and Ink redraws at most 30 times a
 * second (its default).
 */
import { render, type Instance } from 'ink';
import { createElement } from 'react';
import { Screen } from '../ui/screen.tsx';
import { initialScreenState, reduceScreen } from '../ui/state.ts';
import type { Reporter } from './reporter.ts';

export interface InkReporterOptions {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  /** False when NO_COLOR is set. */
  colors: boolean;
}

export function inkReporter(options: InkReporterOptions): Reporter {
  let state = initialScreenState();
  const screen = () => createElement(Screen, { state, colors: options.colors });
  let instance: Instance | null = render(screen(), {
    stdout: options.stdout,
    stderr: options.stderr,
    // Ink reads no keys here, so stdin stays in cooked mode and Ctrl-C arrives as SIGINT, which
    // `tandem run` handles.
    exitOnCtrlC: false,
  });
  return {
    emit(event) {
      const next = reduceScreen(state, event);
      if (next === state) return;
      state = next;
      // Ink's rerender draws synchronously, so progress inside synchronous loops shows up too.
      instance?.rerender(screen());
    },
    close() {
      // Unmounting draws the last frame and leaves it on the terminal, with the cursor below it.
      instance?.unmount();
      instance = null;
    },
  };
}
