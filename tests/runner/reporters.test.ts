import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TandemEvent } from '../../src/events.ts';
import { UsageError } from '../../runner/command.ts';
import { chooseUi, colorsEnabled, InterruptHandler, isCi, type Reporter, type ReporterEvent } from '../../runner/reporters/index.ts';
import { jsonReporter } from '../../runner/reporters/json.ts';
import { interruptedMessage, quitMessage, STOP_REQUESTED } from '../../runner/reporters/messages.ts';
import { plainReporter } from '../../runner/reporters/plain.ts';
import { completeRun, interruptedRun, RUN_DIR, sweep, sweepEnd } from './scripted-events.ts';

/** Feed `events` to a plain reporter; returns its stdout and stderr lines. */
function plainLines(events: ReporterEvent[]): { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const reporter = plainReporter(
    (line) => out.push(line),
    (line) => err.push(line),
  );
  for (const event of events) reporter.emit(event);
  reporter.close();
  return { out, err };
}

describe('plain reporter', () => {
  test('run gives one line per epoch', () => {
    const { out, err } = plainLines(completeRun());
    assert.deepEqual(out, [
      `run smoke on backend wasm, writing to ${RUN_DIR}`,
      'data: 24 images of 24 patients, classes ABD, CHEST, HEAD; train 16, validation 4, test 4; vocabulary 200 tokens (0.1 s)',
      'model: 0.09M parameters (cnn 0.08M, text 0.01M)',
      'epoch 1/2  loss 1.1500  train acc 0.375  val loss 1.1000  val acc 0.250 without text, 0.500 with text  2.0 s  best',
      'epoch 2/2  loss 0.9500  train acc 0.500  val loss 1.0500  val acc 0.500 without text, 0.750 with text  1.5 s  best',
      'test (4 images) without text: accuracy 0.500',
      'test (4 images) with text: accuracy 0.750',
      `done in 5 s; best epoch 2; results in ${RUN_DIR}`,
    ]);
    assert.deepEqual(err, []);
  });

  test('Ctrl-C notice goes to stderr', () => {
    const { out, err } = plainLines(interruptedRun());
    assert.deepEqual(err, [STOP_REQUESTED]);
    assert.equal(out.at(-1), `interrupted after 1 of 3 epochs (3 s); run folder ${RUN_DIR}`);
  });

  test('sweep gives one line per trial', () => {
    const { out } = plainLines([...sweep(), ...sweepEnd()]);
    const sweepLines = out.filter((line) => /^(sweep|trial) /.test(line));
    assert.deepEqual(sweepLines, [
      'sweep smoke: 3 trials, writing to /results/smoke/sweeps/20260101',
      'trial 1/3: model.textDropRate=0',
      'trial 1/3 model.textDropRate=0: complete, test accuracy with text 0.750 (5 s)',
      'trial 2/3: model.textDropRate=0.5',
      'trial 2/3 model.textDropRate=0.5: failed: Failed to write history.json: the disk is full. (1 s)',
      'trial 3/3: model.textDropRate=1',
      'trial 3/3 model.textDropRate=1: interrupted (2 s)',
      'sweep interrupted in 8 s: 1 complete, 1 failed, 1 interrupted; best trial 1; results in /results/smoke/sweeps/20260101',
    ]);
    assert.ok(out.includes(`run failed; its event log is ${RUN_DIR}-2/events.ndjson`));
  });

  test('batch and evaluation progress print nothing', () => {
    const progress = completeRun().filter((event) => ['epoch-start', 'batch-end', 'evaluation-progress'].includes(event.type));
    assert.deepEqual(plainLines(progress), { out: [], err: [] });
  });

  test('lines contain no escape codes', () => {
    const { out, err } = plainLines([...completeRun(), ...interruptedRun(), ...sweep(), ...sweepEnd()]);
    for (const line of [...out, ...err]) assert.doesNotMatch(line, /\u001b/);
  });
});

describe('JSON-lines reporter', () => {
  test('writes every event with its time', () => {
    const lines: string[] = [];
    const notices: string[] = [];
    const time = new Date('2026-01-01T12:00:00.000Z');
    const reporter = jsonReporter(
      (line) => lines.push(line),
      (line) => notices.push(line),
      () => time,
    );
    const events = interruptedRun();
    for (const event of events) reporter.emit(event);

    assert.equal(lines.length, events.length);
    const parsed = lines.map((line) => JSON.parse(line));
    assert.deepEqual(
      parsed,
      events.map((event) => ({ time: '2026-01-01T12:00:00.000Z', ...event })),
    );
    assert.deepEqual(notices, [STOP_REQUESTED], 'the person at the terminal still sees the Ctrl-C notice');
  });
});

describe('reporter choice', () => {
  test('terminal without CI gets the Ink screen', () => {
    assert.equal(chooseUi(undefined, true, { TERM: 'xterm-256color' }), 'ink');
  });

  test('pipe or CI gets plain lines', () => {
    assert.equal(chooseUi(undefined, false, {}), 'plain');
    assert.equal(chooseUi(undefined, true, { CI: 'true' }), 'plain');
    assert.equal(chooseUi(undefined, true, { CI: '1' }), 'plain');
    assert.equal(chooseUi(undefined, true, { CONTINUOUS_INTEGRATION: 'yes' }), 'plain');
    assert.equal(chooseUi(undefined, true, { TERM: 'dumb' }), 'plain');
  });

  test('CI set to 0 or false is not CI', () => {
    assert.equal(isCi({ CI: '0' }), false);
    assert.equal(isCi({ CI: 'false' }), false);
    assert.equal(chooseUi(undefined, true, { CI: 'false' }), 'ink');
  });

  test('--ui overrides the default', () => {
    assert.equal(chooseUi('json', true, {}), 'json');
    assert.equal(chooseUi('plain', true, {}), 'plain');
    assert.equal(chooseUi('ink', false, { CI: 'true' }), 'ink');
  });

  test('invalid --ui names the choices', () => {
    assert.throws(
      () => chooseUi('fancy', true, {}),
      (error: unknown) => error instanceof UsageError && error.message === 'Invalid value "fancy" for --ui. Expected one of: ink, plain, json.',
    );
  });

  test('NO_COLOR turns colors off unless empty', () => {
    assert.equal(colorsEnabled({}), true);
    assert.equal(colorsEnabled({ NO_COLOR: '1' }), false);
    assert.equal(colorsEnabled({ NO_COLOR: '' }), true);
  });
});

/** A reporter that records every event and counts its closes. */
function recordingReporter(): Reporter & { events: ReporterEvent[]; closed: number } {
  const recorder = {
    events: [] as ReporterEvent[],
    closed: 0,
    emit(event: ReporterEvent) {
      recorder.events.push(event);
    },
    close() {
      recorder.closed++;
    },
  };
  return recorder;
}

describe('Ctrl-C handling', () => {
  const runStart: TandemEvent = { type: 'run-start', experiment: 'smoke', runDir: RUN_DIR, backend: 'wasm', configPath: '/c.yaml' };

  test('first Ctrl-C aborts and tells the reporter', () => {
    const reporter = recordingReporter();
    const exits: number[] = [];
    const handler = new InterruptHandler({ reporter, write: () => {}, exit: (code) => exits.push(code), exitCode: 130 });
    handler.listener(runStart);
    handler.interrupt();

    assert.equal(handler.signal.aborted, true);
    assert.deepEqual(reporter.events, [runStart, { type: 'stop-requested' }]);
    assert.equal(reporter.closed, 0);
    assert.deepEqual(exits, []);
  });

  test('second Ctrl-C closes the reporter and exits at once', () => {
    const reporter = recordingReporter();
    const written: string[] = [];
    const exits: number[] = [];
    const handler = new InterruptHandler({ reporter, write: (text) => written.push(text), exit: (code) => exits.push(code), exitCode: 130 });
    handler.listener(runStart);
    handler.interrupt();
    handler.interrupt();

    assert.equal(reporter.closed, 1);
    assert.deepEqual(written, [`${quitMessage(RUN_DIR)}\n`]);
    assert.deepEqual(exits, [130]);
  });

  test('interrupted message says what the run folder keeps', () => {
    const reporter = recordingReporter();
    const handler = new InterruptHandler({ reporter, write: () => {}, exit: () => {}, exitCode: 130 });
    for (const event of interruptedRun()) if (event.type !== 'stop-requested') handler.listener(event);
    assert.equal(
      handler.interruptedMessage(),
      [
        'Interrupted during epoch 2 of 3; no test metrics were written.',
        'The run folder keeps the resolved config, the data split, the history of the',
        'finished epochs, the checkpoint of epoch 1, the event log and run.json with',
        'status "interrupted":',
        `  ${RUN_DIR}`,
        'To go on after epoch 1, run:',
        `  tandem run --resume ${RUN_DIR}`,
      ].join('\n'),
    );
  });

  test('interrupted message before any checkpoint', () => {
    const message = interruptedMessage({
      type: 'run-interrupted',
      runDir: "/my results/it's",
      completedEpochs: 0,
      epochs: 3,
      bestEpoch: 0,
      checkpointEpoch: null,
      seconds: 1,
    });
    assert.equal(
      message,
      [
        'Interrupted during epoch 1 of 3; no test metrics were written.',
        'The run folder keeps the resolved config, the data split, an empty training',
        'history, the event log and run.json with status "interrupted":',
        "  /my results/it's",
        'No checkpoint was written yet; to start training over in the same folder, run:',
        "  tandem run --resume '/my results/it'\\''s'",
      ].join('\n'),
    );
  });

  test('quit message before the run folder exists', () => {
    assert.equal(quitMessage(null), 'Quit at once, before the run folder was created.');
    assert.equal(quitMessage(RUN_DIR), `Quit at once. ${RUN_DIR} keeps the files written so far; its run.json still says "running".`);
  });
});
