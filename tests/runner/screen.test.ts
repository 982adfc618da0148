import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import type { ReporterEvent } from '../../runner/reporters/reporter.ts';
import { Screen } from '../../runner/ui/screen.tsx';
import { estimate, initialScreenState, reduceScreen, type ScreenState } from '../../runner/ui/state.ts';
import { completeRun, interruptedRun, RUN_DIR, sweep, sweepEnd } from './scripted-events.ts';

type Rendered = ReturnType<typeof render>;

/** Give the test terminal of ink-testing-library (always 100 columns) another width. */
function setColumns(rendered: Rendered, columns: number): void {
  Object.defineProperty(rendered.stdout, 'columns', { value: columns, configurable: true });
}

/**
 * Render the screen, feed it `events` as the Ink reporter does, and return the frame drawn after each
 * event that changed the screen.
 */
function play(events: ReporterEvent[], columns = 80): { frames: string[]; rendered: Rendered; state: ScreenState } {
  let state = initialScreenState();
  const rendered = render(createElement(Screen, { state, colors: false }));
  setColumns(rendered, columns);
  const frames: string[] = [];
  for (const event of events) {
    const next = reduceScreen(state, event);
    if (next === state) continue;
    state = next;
    rendered.rerender(createElement(Screen, { state, colors: false }));
    frames.push(rendered.lastFrame() ?? '');
  }
  return { frames, rendered, state };
}

const frame = (...lines: string[]) => lines.join('\n');

/** Columns a line takes: every character the screen draws is one column wide. */
const columnsOf = (line: string) => Array.from(line).length;

const HEADER = ['smoke · backend wasm', `run folder  ${RUN_DIR}`];
const DATA = ['data        24 images of 24 patients', 'split       train 16 · validation 4 · test 4'];
const MODEL = 'model       0.09M parameters';
const TABLE = 'epoch  train loss  train acc  val loss  val acc without text  with text';
const EPOCH_1 = '    1      1.1500      0.375    1.1000                 0.250      0.500  best';
const EPOCH_2 = '    2      0.9500      0.500    1.0500                 0.500      0.750  best';
const FULL = '████████████████████████████████████████';
const HALF = '████████████████████░░░░░░░░░░░░░░░░░░░░';
const EMPTY = '░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░';

describe('Ink screen', () => {
  test('run frames follow the events', () => {
    const { frames } = play(completeRun());
    const expected = [
      // run-start, data-loaded, model-built
      frame(...HEADER, 'Selecting the backend and loading the data…'),
      frame(...HEADER, ...DATA),
      frame(...HEADER, ...DATA, MODEL),
      // Epoch 1: no step has finished, so nothing is known about speed yet.
      frame(...HEADER, ...DATA, MODEL, `epoch 1/2 ${EMPTY} 0/2 batches`, 'time left   estimating…'),
      frame(...HEADER, ...DATA, MODEL, `epoch 1/2 ${HALF} 1/2 batches · 16.0 samples/s`, 'time left   1s in this epoch, 2s in the run'),
      frame(...HEADER, ...DATA, MODEL, `epoch 1/2 ${FULL} 2/2 batches · 16.0 samples/s`, 'time left   0s in this epoch, 1s in the run'),
      frame(
        ...HEADER,
        ...DATA,
        MODEL,
        `epoch 1/2 ${FULL} 2/2 batches · 16.0 samples/s`,
        'time left   0s in this epoch, 1s in the run',
        `validating without text ${FULL} 4/4 images`,
      ),
      frame(
        ...HEADER,
        ...DATA,
        MODEL,
        `epoch 1/2 ${FULL} 2/2 batches · 16.0 samples/s`,
        'time left   0s in this epoch, 1s in the run',
        `validating with text ${FULL} 4/4 images`,
      ),
      frame(...HEADER, ...DATA, MODEL, TABLE, EPOCH_1),
      // Epoch 2 starts from epoch 1's speed; its 1 s outside the steps is counted for validation and test.
      frame(...HEADER, ...DATA, MODEL, `epoch 2/2 ${EMPTY} 0/2 batches · 16.0 samples/s`, 'time left   2s in this epoch, 3s in the run', TABLE, EPOCH_1),
      frame(...HEADER, ...DATA, MODEL, `epoch 2/2 ${HALF} 1/2 batches · 32.0 samples/s`, 'time left   1s in this epoch, 2s in the run', TABLE, EPOCH_1),
      frame(...HEADER, ...DATA, MODEL, `epoch 2/2 ${FULL} 2/2 batches · 32.0 samples/s`, 'time left   1s in this epoch, 2s in the run', TABLE, EPOCH_1),
      frame(...HEADER, ...DATA, MODEL, TABLE, EPOCH_1, EPOCH_2),
      frame(...HEADER, ...DATA, MODEL, `testing without text ${FULL} 4/4 images`, TABLE, EPOCH_1, EPOCH_2),
      frame(...HEADER, ...DATA, MODEL, TABLE, EPOCH_1, EPOCH_2, 'test accuracy 0.500 without text (4 images)'),
      frame(...HEADER, ...DATA, MODEL, `testing with text ${FULL} 4/4 images`, TABLE, EPOCH_1, EPOCH_2, 'test accuracy 0.500 without text (4 images)'),
      frame(...HEADER, ...DATA, MODEL, TABLE, EPOCH_1, EPOCH_2, 'test accuracy 0.500 without text, 0.750 with text (4 images)'),
      // artifact-written changes nothing; run-end adds the summary.
      frame(
        ...HEADER,
        ...DATA,
        MODEL,
        TABLE,
        EPOCH_1,
        EPOCH_2,
        'test accuracy 0.500 without text, 0.750 with text (4 images)',
        'done in 5s · best epoch 2',
        `results in  ${RUN_DIR}`,
      ),
    ];
    assert.equal(frames.length, expected.length, frames.join('\n\n'));
    for (let i = 0; i < expected.length; i++) assert.equal(frames[i], expected[i], `frame ${i + 1}`);
  });

  test('first Ctrl-C shows the stop notice, then the interruption', () => {
    const { frames } = play(interruptedRun());
    const lastTwo = frames.slice(-2);
    assert.deepEqual(lastTwo, [
      frame(
        ...HEADER,
        ...DATA,
        MODEL,
        `epoch 2/3 ${HALF} 1/2 batches · 16.0 samples/s`,
        'time left   2s in this epoch, 5s in the run',
        TABLE,
        EPOCH_1,
        'Stopping after the current step; press Ctrl-C again to quit at once.',
      ),
      frame(
        ...HEADER,
        ...DATA,
        MODEL,
        TABLE,
        EPOCH_1,
        'interrupted in epoch 2 after batch 1/2 (3s); 1 of 3 epochs finished',
        'no test metrics were written',
      ),
    ]);
  });

  test('sweep keeps finished trials above the running one', () => {
    const { frames } = play([...sweep(), ...sweepEnd()]);
    const sweepHeader = ['sweep smoke · 3 trials', 'sweep folder /results/smoke/sweeps/20260101'];
    const firstTrial = '✓ trial 1/3  model.textDropRate=0  5s  test accuracy with text 0.750';
    const secondTrial = '✗ trial 2/3  model.textDropRate=0.5  1s  failed: Failed to write history.json: …';
    const notices = [
      'warning: validation has only 4 images',
      'error: Failed to write history.json: the disk is full.',
      `log         ${RUN_DIR}-2/events.ndjson`,
    ];

    assert.equal(frames[0], frame(...sweepHeader, '3 trials waiting'));
    assert.equal(
      frames[1],
      frame(...sweepHeader, '▶ trial 1/3  model.textDropRate=0', 'Selecting the backend and loading the data…', '2 trials waiting'),
    );
    assert.equal(
      frames[2],
      frame(
        ...sweepHeader,
        '▶ trial 1/3  model.textDropRate=0 · backend wasm',
        `run folder  ${RUN_DIR}-1`,
        'Selecting the backend and loading the data…',
        '2 trials waiting',
      ),
    );
    const trialEnds = frames.filter((text) => text.includes('✓ trial 1/3'));
    assert.equal(trialEnds[0], frame(...sweepHeader, firstTrial, '2 trials waiting'));
    assert.ok(
      frames.includes(frame(...sweepHeader, firstTrial, secondTrial, '1 trial waiting', ...notices)),
      'the failed trial joins the finished ones, and its error stays on screen with the log',
    );
    assert.equal(
      frames.at(-1),
      frame(
        ...sweepHeader,
        firstTrial,
        secondTrial,
        '■ trial 3/3  model.textDropRate=1  2s  interrupted',
        'sweep interrupted in 8s: 1 complete, 1 failed, 1 interrupted',
        'best trial 1 (model.textDropRate=0): test accuracy with text 0.750',
        'results in  /results/smoke/sweeps/20260101',
        ...notices,
      ),
    );
  });

  test('every frame fits 80 columns, long paths included', () => {
    const longDir = `/home/someone/experiments/tandem/results/${'nested/'.repeat(8)}smoke/20260101-120000`;
    const scripts: ReporterEvent[][] = [
      completeRun(longDir),
      interruptedRun(),
      [...sweep(), ...sweepEnd()],
      [{ type: 'warning', message: `a long warning ${'that goes on '.repeat(10)}` }],
    ];
    for (const events of scripts) {
      for (const text of play(events, 80).frames) {
        for (const line of text.split('\n')) assert.ok(columnsOf(line) <= 80, `${columnsOf(line)} columns: ${line}`);
      }
    }
  });

  test('resizing the terminal redraws the bar', async () => {
    const events = completeRun().slice(0, 5); // up to the first batch
    const { rendered } = play(events, 80);
    assert.match(rendered.lastFrame() ?? '', new RegExp(`epoch 1/2 ${HALF} 1/2`));

    setColumns(rendered, 60);
    rendered.stdout.emit('resize');
    // The resize handler sets React state, which renders on the next turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    const narrow = (rendered.lastFrame() ?? '').split('\n').find((line) => line.startsWith('epoch 1/2'));
    // The bar takes what the text leaves of the 60 columns: 60 - 10 - 29 = 21 cells, half of them filled.
    assert.equal(narrow, 'epoch 1/2 ███████████░░░░░░░░░░ 1/2 batches · 16.0 samples/s');
    assert.equal(columnsOf(narrow!), 60);
  });

  test('narrow terminal gets the shorter epoch table', () => {
    const { frames } = play(completeRun().slice(0, 9), 70); // up to the end of epoch 1
    assert.equal(
      frames.at(-1),
      frame(
        ...HEADER,
        ...DATA,
        MODEL,
        'epoch    loss  val loss  val acc without text  with text',
        '    1  1.1500    1.1000                 0.250      0.500  best',
      ),
    );
  });

  test('many warnings keep only the last three on screen', () => {
    const warnings: ReporterEvent[] = [1, 2, 3, 4, 5].map((n) => ({ type: 'warning', message: `warning number ${n}` }));
    const { frames } = play(warnings);
    assert.equal(
      frames.at(-1),
      frame('Selecting the backend and loading the data…', '2 earlier warnings not shown', 'warning: warning number 3', 'warning: warning number 4', 'warning: warning number 5'),
    );
  });
});

describe('screen estimates', () => {
  test('run time left adds later epochs and the test', () => {
    let state = initialScreenState();
    for (const event of interruptedRun().slice(0, 9)) state = reduceScreen(state, event);
    // Epoch 2 of 3, one 0.5 s step done, one left; epoch 1 spent 1 s outside its steps.
    const { samplesPerSecond, epochSecondsLeft, runSecondsLeft } = estimate(state.run);
    assert.equal(samplesPerSecond, 16);
    assert.equal(epochSecondsLeft, 0.5 + 1);
    assert.equal(runSecondsLeft, 1.5 + (2 * 0.5 + 1) + 1);
  });

  test('nothing is estimated before the first step', () => {
    let state = initialScreenState();
    for (const event of completeRun().slice(0, 4)) state = reduceScreen(state, event);
    assert.deepEqual(estimate(state.run), { samplesPerSecond: null, epochSecondsLeft: null, runSecondsLeft: null });
  });

  test('events that show nothing keep the same state', () => {
    const state = initialScreenState();
    assert.equal(reduceScreen(state, { type: 'artifact-written', path: '/x', description: 'x' }), state);
  });
});
