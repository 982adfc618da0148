/**
 * The real `tandem run` in a real terminal: tmux runs it in a detached pane, and capture-pane reads the
 * screen while it trains. Needs the VQA-RAD data and Debian's tmux package: .ci/run installs it, so under
 * CI=true a missing tmux fails the terminal tests, and elsewhere it skips them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const realDataRoot = path.resolve(projectRoot, '../shared/data/vqa-rad');
const tandemBin = path.join(projectRoot, 'runner/tandem.js');

/** Generous, because the 2-core test machines are shared; a passing run never waits this long. */
const STEP_TIMEOUT_MS = 120_000;

/** Return the environment of a person at a terminal: no CI, no color settings, no data-root override. */
function terminalEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const environment: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const key of ['CI', 'CONTINUOUS_INTEGRATION', 'NO_COLOR', 'FORCE_COLOR', 'TANDEM_DATA_ROOT']) {
    if (!(key in extra)) delete environment[key];
  }
  return environment;
}

/**
 * configs/smoke.yaml with 60 images, batches of 4 and 50 epochs, so that training lasts long enough to
 * watch; the test stops it with Ctrl-C. Returns the config file and its folder.
 */
function longSmokeConfig(epochs = 50): { file: string; dir: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tandem-terminal-'));
  const config = parse(readFileSync(path.join(projectRoot, 'configs/smoke.yaml'), 'utf8'));
  config.data = { ...config.data, root: realDataRoot, maxImages: 60 };
  config.train = { ...config.train, epochs, batchSize: 4, workers: 1 };
  config.output = { root: path.join(dir, 'results') };
  const file = path.join(dir, 'smoke.yaml');
  writeFileSync(file, stringify(config));
  return { file, dir };
}

const shellQuote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

let socketCount = 0;

/** One tmux server on its own socket, with a single detached pane running `command`. */
class TmuxPane {
  private readonly socket = `tandem-test-${process.pid}-${++socketCount}`;
  private readonly target = 'run';
  private readonly statusFile: string;

  constructor(command: string, environment: NodeJS.ProcessEnv, columns: number, rows: number) {
    // remain-on-exit keeps the pane and its last screen after the command ends.
    const folder = mkdtempSync(path.join(os.tmpdir(), 'tandem-tmux-'));
    const configFile = path.join(folder, 'tmux.conf');
    this.statusFile = path.join(folder, 'exit-status');
    writeFileSync(configFile, 'set -g remain-on-exit on\nset -g history-limit 1000\n');
    // The pane's shell waits for the command and writes its exit status to a file, because tmux has now
    // and then left the ended process unreaped, with no pane_dead_status to read.
    const wrapped = `${command}; echo $? > ${shellQuote(this.statusFile)}`;
    this.tmux(['-f', configFile, 'new-session', '-d', '-s', this.target, '-x', String(columns), '-y', String(rows), wrapped], environment);
  }

  private tmux(args: string[], environment: NodeJS.ProcessEnv = process.env): string {
    const result = spawnSync('tmux', ['-L', this.socket, ...args], { env: environment, encoding: 'utf8' });
    if (result.error) throw new Error(`tmux failed to start (is it installed? apt-get install tmux): ${result.error.message}`);
    if (result.status !== 0) throw new Error(`tmux ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
    return result.stdout;
  }

  /** Capture the visible screen; with `escapes`, including its color codes. */
  screen(escapes = false): string {
    return this.tmux(['capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', this.target]);
  }

  /** Capture the screen and the lines scrolled off it. */
  history(): string {
    return this.tmux(['capture-pane', '-p', '-S', '-', '-t', this.target]);
  }

  sendKeys(...keys: string[]): void {
    this.tmux(['send-keys', '-t', this.target, ...keys]);
  }

  /**
   * Return the command's exit status once it has ended, else null; 128 + the signal number when a signal
   * ended it, as a shell reports it. tmux can mark the pane dead when the terminal closes, before it has
   * reaped the process, so a dead pane without a status or signal counts as still running.
   */
  exitStatus(): number | null {
    if (existsSync(this.statusFile)) {
      const written = readFileSync(this.statusFile, 'utf8').trim();
      if (written !== '') return Number(written);
    }
    const format = '#{pane_dead}:#{pane_dead_status}:#{pane_dead_signal}';
    const [dead, status, signal] = this.tmux(['display-message', '-p', '-t', this.target, format]).trim().split(':');
    if (dead !== '1') return null;
    if (status) return Number(status);
    if (signal) return 128 + Number(signal);
    return null;
  }

  kill(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server']);
  }
}

/** Poll `probe` until it returns a value; on timeout, fail with the last screen. */
async function waitFor<T>(pane: TmuxPane, what: string, probe: (screen: string) => T | null): Promise<T> {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  let screen = '';
  while (Date.now() < deadline) {
    // Read the status first, so that a probe that runs after the exit still gets the final screen.
    const status = pane.exitStatus();
    screen = pane.screen();
    const value = probe(screen);
    if (value !== null) return value;
    if (status !== null) throw new Error(`tandem exited with ${status} before ${what}; the screen was:\n${screen}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Timed out after ${STEP_TIMEOUT_MS / 1000} s waiting for ${what}; the screen was:\n${screen}`);
}

/** Position of the progress bar: the epoch, the batch, and the line it is on. */
interface BarPosition {
  epoch: number;
  batch: number;
  batches: number;
  line: string;
}

function progressBar(screen: string): BarPosition | null {
  const match = /^epoch +(\d+)\/\d+ [█░]+ +(\d+)\/(\d+) batches.*$/m.exec(screen);
  if (!match) return null;
  return { epoch: Number(match[1]), batch: Number(match[2]), batches: Number(match[3]), line: match[0] };
}

const stepsDone = (position: BarPosition) => (position.epoch - 1) * position.batches + position.batch;

/** Return the only run folder under `dir`/results. */
function runFolder(dir: string): string {
  const experimentDir = path.join(dir, 'results', 'smoke');
  const runs = readdirSync(experimentDir);
  assert.equal(runs.length, 1, runs.join(', '));
  return path.join(experimentDir, runs[0]);
}

const tmuxMissing = spawnSync('tmux', ['-V']).error !== undefined;
const skipTerminal = tmuxMissing && !process.env.CI ? 'tmux not found; install Debian\'s tmux package to run this test' : false;

const panes: TmuxPane[] = [];
after(() => {
  for (const pane of panes) pane.kill();
});

describe('tandem run in a terminal', () => {
  test('progress bar advances and Ctrl-C stops the run', { skip: skipTerminal }, async () => {
    assert.ok(!tmuxMissing, 'tmux not found. CI installs it with .ci/run; run: apt-get install -y tmux');
    const { file, dir } = longSmokeConfig();
    const pane = new TmuxPane(`${shellQuote(process.execPath)} ${shellQuote(tandemBin)} run ${shellQuote(file)}`, terminalEnvironment(), 100, 30);
    panes.push(pane);

    const first = await waitFor(pane, 'the progress bar', progressBar);
    const screen = pane.screen();
    assert.match(screen, /^smoke · backend wasm$/m);
    assert.match(screen, /^run folder +\S+results\/smoke\/\d{8}-\d{6}$/m);
    assert.match(screen, /^time left +(estimating…|\S+ in this epoch, \S+ in the run)$/m);
    assert.match(pane.screen(true), /\u001b\[3\dm[█░]/, 'the bar is colored when NO_COLOR is not set');

    const later = await waitFor(pane, 'the progress bar to advance', (text) => {
      const position = progressBar(text);
      return position && stepsDone(position) > stepsDone(first) ? position : null;
    });
    assert.ok(stepsDone(later) > stepsDone(first), `${first.line}\n${later.line}`);

    pane.sendKeys('C-c');
    const status = await waitFor(pane, 'tandem to exit', () => pane.exitStatus());
    assert.equal(status, 130, pane.history());

    const history = pane.history();
    assert.match(history, /^Interrupted during epoch \d+ of 50; no test metrics were written\.$/m);
    assert.match(history, /^(To go on after epoch \d+|No checkpoint was written yet; to start training over in the same folder), run:$/m);
    const runDir = runFolder(dir);
    assert.ok(history.includes(`  tandem run --resume ${runDir}`), history);

    assert.equal(JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')).status, 'interrupted');
    const events = readFileSync(path.join(runDir, 'events.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    assert.equal(events.at(-1).type, 'run-interrupted');
  });

  test('NO_COLOR leaves out every color code', { skip: skipTerminal }, async () => {
    assert.ok(!tmuxMissing, 'tmux not found. CI installs it with .ci/run; run: apt-get install -y tmux');
    const { file } = longSmokeConfig();
    const command = `${shellQuote(process.execPath)} ${shellQuote(tandemBin)} run ${shellQuote(file)}`;
    const pane = new TmuxPane(command, terminalEnvironment({ NO_COLOR: '1' }), 100, 30);
    panes.push(pane);

    await waitFor(pane, 'the progress bar', progressBar);
    // Any SGR sequence (color, bold, dim) counts; cursor movement does not show in capture-pane.
    assert.doesNotMatch(pane.screen(true), /\u001b\[[\d;]*m/);
    // NOTE: the exit after Ctrl-C is checked by the progress bar test. A Ctrl-C this early, during the
    // first steps of epoch 1, has now and then left the process running after its interrupted message;
    // that bug is still open, so this test ends the pane itself.
  });

  test('piped to a file, the run prints plain lines', () => {
    const { file, dir } = longSmokeConfig(2);
    const outputFile = path.join(dir, 'output.txt');
    const output = openSync(outputFile, 'w');
    try {
      const result = spawnSync(process.execPath, [tandemBin, 'run', file], {
        cwd: projectRoot,
        env: terminalEnvironment(),
        stdio: ['ignore', output, 'pipe'],
        encoding: 'utf8',
        timeout: 5 * 60 * 1000,
      });
      assert.equal(result.status, 0, result.stderr);
    } finally {
      closeSync(output);
    }

    const text = readFileSync(outputFile, 'utf8');
    assert.doesNotMatch(text, /\u001b/, 'no escape codes');
    const lines = text.trim().split('\n');
    assert.match(lines[0], /^run smoke on backend wasm, writing to /);
    assert.deepEqual(
      lines.filter((line) => line.startsWith('epoch')).map((line) => line.slice(0, 9)),
      ['epoch 1/2', 'epoch 2/2'],
    );
    assert.match(lines.at(-1)!, /^done in \d+ s; best epoch \d; results in /);
  });
});
