/**
 * The end of a run or sweep, the test accuracies, and the notice after the first Ctrl-C.
 */
import { Box, Text } from 'ink';
import { STOP_REQUESTED, sweepEndWord } from '../../reporters/messages.ts';
import type { RunView, SweepView } from '../state.ts';
import { formatDuration, formatShare } from '../format.ts';
import { useTone } from '../theme.ts';
import { Field } from './field.tsx';

export function TestResults({ run }: { run: RunView }) {
  const tone = useTone();
  const test = run.test;
  if (!test) return null;
  const parts: string[] = [];
  if (test.withoutText !== null) parts.push(`${formatShare(test.withoutText)} without text`);
  if (test.withText !== null) parts.push(`${formatShare(test.withText)} with text`);
  return (
    <Text>
      <Text {...tone('title')}>test accuracy</Text> {parts.join(', ')} ({test.samples} images)
    </Text>
  );
}

export function RunOutcome({ run }: { run: RunView }) {
  const tone = useTone();
  const outcome = run.outcome;
  if (!outcome) return null;
  if (outcome.kind === 'diverged') {
    return (
      <Box flexDirection="column">
        <Text {...tone('error')}>
          diverged in epoch {outcome.epoch} at step {outcome.step} ({formatDuration(outcome.seconds)}): {outcome.reason}
        </Text>
        <Text>
          no test metrics were written
          {outcome.checkpointEpoch === null ? '' : `; the checkpoint of epoch ${outcome.checkpointEpoch} is kept`}
        </Text>
      </Box>
    );
  }
  if (outcome.kind === 'interrupted') {
    const where = outcome.stoppedAt
      ? ` in epoch ${outcome.stoppedAt.epoch} after batch ${outcome.stoppedAt.batch}/${outcome.stoppedAt.batches}`
      : '';
    return (
      <Box flexDirection="column">
        <Text {...tone('warning')}>
          interrupted{where} ({formatDuration(outcome.seconds)}); {outcome.completedEpochs} of {outcome.epochs} epochs finished
        </Text>
        <Text>no test metrics were written</Text>
      </Box>
    );
  }
  return (
    <Box flexDirection="column">
      <Text>
        <Text {...tone('good')}>done</Text> in {formatDuration(outcome.seconds)} · best epoch {outcome.bestEpoch}
      </Text>
      {run.runDir && <Field label="results in">{run.runDir}</Field>}
    </Box>
  );
}

function sweepEndTone(end: { interrupted: number; failed: number }): 'good' | 'warning' {
  return end.interrupted > 0 || end.failed > 0 ? 'warning' : 'good';
}

export function SweepOutcome({ sweep }: { sweep: SweepView }) {
  const tone = useTone();
  const end = sweep.end;
  if (!end) return null;
  const counts = [`${end.complete} complete`];
  if (end.failed) counts.push(`${end.failed} failed`);
  if (end.interrupted) counts.push(`${end.interrupted} interrupted`);
  return (
    <Box flexDirection="column">
      <Text>
        <Text {...tone(sweepEndTone(end))}>{sweepEndWord(end)}</Text> in {formatDuration(end.seconds)}: {counts.join(', ')}
      </Text>
      {sweep.best && (
        <Text wrap="truncate-end">
          best trial {sweep.best.trial} ({sweep.best.label}): {sweep.metric} {formatShare(sweep.best.metricValue)}
        </Text>
      )}
      <Field label="results in">{end.sweepDir}</Field>
    </Box>
  );
}

export function StopRequested() {
  const tone = useTone();
  return <Text {...tone('warning')}>{STOP_REQUESTED}</Text>;
}
