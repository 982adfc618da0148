import { Text } from 'ink';
import type { ReactNode } from 'react';
import { useTone } from '../theme.ts';

/** Label width, so that the values of consecutive fields line up. */
const LABEL_WIDTH = 12;

/** Render one labelled line, such as "run folder  /results/smoke/…". */
export function Field({ label, children }: { label: string; children: ReactNode }) {
  const tone = useTone();
  return (
    <Text>
      <Text {...tone('muted')}>{`${label.padEnd(LABEL_WIDTH - 1)} `}</Text>
      {children}
    </Text>
  );
}
