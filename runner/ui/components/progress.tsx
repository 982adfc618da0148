/**
 * The running epoch as a bar over its mini-batches, with throughput and time left, and the progress of
 * validation and test.
 */
import { Box, Text } from 'ink';
import { estimate, type RunView } from '../state.ts';
import { formatDuration, formatRate, progressBar } from '../format.ts';
import { useTone } from '../theme.ts';
import { Field } from './field.tsx';

const MIN_BAR = 10;
const MAX_BAR = 40;

/** Width of a bar that leaves `used` columns for the text around it. */
function barWidth(columns: number, used: number): number {
  return Math.max(MIN_BAR, Math.min(MAX_BAR, columns - used));
}

export function TrainingProgressView({ run, columns }: { run: RunView; columns: number }) {
  const tone = useTone();
  const progress = run.progress;
  if (!progress) return null;
  const { samplesPerSecond, epochSecondsLeft, runSecondsLeft } = estimate(run);
  const digits = String(progress.epochs).length;
  const before = `epoch ${String(progress.epoch).padStart(digits)}/${progress.epochs} `;
  const batchDigits = String(progress.batches).length;
  const rate = samplesPerSecond === null ? '' : ` · ${formatRate(samplesPerSecond)}`;
  const after = ` ${String(progress.batch).padStart(batchDigits)}/${progress.batches} batches${rate}`;
  const bar = progressBar(progress.batch / progress.batches, barWidth(columns, before.length + after.length));
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        {before}
        <Text {...tone('accent')}>{bar}</Text>
        {after}
      </Text>
      <Field label="time left">
        {epochSecondsLeft === null || runSecondsLeft === null
          ? 'estimating…'
          : `${formatDuration(epochSecondsLeft)} in this epoch, ${formatDuration(runSecondsLeft)} in the run`}
      </Field>
    </Box>
  );
}

export function EvaluationProgressView({ run, columns }: { run: RunView; columns: number }) {
  const tone = useTone();
  const evaluation = run.evaluation;
  if (!evaluation) return null;
  const label = `${evaluation.split === 'test' ? 'testing' : 'validating'} ${evaluation.withText ? 'with' : 'without'} text `;
  const after = ` ${evaluation.done}/${evaluation.total} images`;
  const bar = progressBar(evaluation.total ? evaluation.done / evaluation.total : 1, barWidth(columns, label.length + after.length));
  return (
    <Text wrap="truncate-end">
      {label}
      <Text {...tone('accent')}>{bar}</Text>
      {after}
    </Text>
  );
}
