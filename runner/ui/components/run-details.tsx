/**
 * The run's data set and model size, known before training starts.
 */
import { Box, Text } from 'ink';
import type { RunView } from '../state.ts';
import { formatMillions } from '../format.ts';
import { useTone } from '../theme.ts';
import { Field } from './field.tsx';

export function RunDetails({ run }: { run: RunView }) {
  const tone = useTone();
  if (!run.data) return <Text {...tone('muted')}>Selecting the backend and loading the data…</Text>;
  const { images, patients, counts } = run.data;
  return (
    <Box flexDirection="column">
      <Field label="data">
        {images} images of {patients} patients
      </Field>
      <Field label="split">
        train {counts.train} · validation {counts.validation} · test {counts.test}
      </Field>
      {run.parameters !== null && <Field label="model">{formatMillions(run.parameters)} parameters</Field>}
    </Box>
  );
}
