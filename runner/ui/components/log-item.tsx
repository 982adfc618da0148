/**
 * The lines written once above the live part: the run or sweep header and each finished trial.
 */
import { Box, Text } from 'ink';
import type { LogItem } from '../state.ts';
import { formatDuration, formatShare } from '../format.ts';
import { useTone, type Tone } from '../theme.ts';
import { Field } from './field.tsx';

const TRIAL_MARKS: Record<Extract<LogItem, { kind: 'trial' }>['status'], { mark: string; tone: Tone }> = {
  complete: { mark: '✓', tone: 'good' },
  interrupted: { mark: '■', tone: 'warning' },
  diverged: { mark: '✗', tone: 'error' },
  failed: { mark: '✗', tone: 'error' },
};

export function LogItemView({ item }: { item: LogItem }) {
  const tone = useTone();
  switch (item.kind) {
    case 'run-header':
      return (
        <Box flexDirection="column">
          <Text>
            <Text {...tone('title')}>{item.experiment}</Text> · backend {item.backend}
          </Text>
          <Field label="run folder">{item.runDir}</Field>
        </Box>
      );
    case 'sweep-header':
      return (
        <Box flexDirection="column">
          <Text>
            <Text {...tone('title')}>sweep {item.experiment}</Text> · {item.trials} trials
          </Text>
          <Field label="sweep folder">{item.sweepDir}</Field>
        </Box>
      );
    case 'trial': {
      const { mark, tone: markTone } = TRIAL_MARKS[item.status];
      const result =
        item.status === 'complete'
          ? `${item.metric} ${item.metricValue === null ? '?' : formatShare(item.metricValue)}`
          : item.status === 'failed'
            ? `failed${item.error ? `: ${item.error}` : ''}`
            : item.status;
      return (
        <Box>
          <Text wrap="truncate-end">
            <Text {...tone(markTone)}>{mark}</Text> trial {item.trial}/{item.trials}  {item.label}  {formatDuration(item.seconds)}  {result}
          </Text>
        </Box>
      );
    }
  }
}
