/**
 * Text styles by role. With NO_COLOR set the screen uses none of them, not even bold or dim, because
 * Ink's chalk 5 reads FORCE_COLOR but not NO_COLOR.
 */
import { createContext, useContext } from 'react';
import type { TextProps } from 'ink';

const TONES = {
  title: { bold: true },
  accent: { color: 'cyan' },
  good: { color: 'green' },
  warning: { color: 'yellow' },
  error: { color: 'red' },
  muted: { dimColor: true },
} satisfies Record<string, TextProps>;

export type Tone = keyof typeof TONES;

/** Whether the screen may style its text; false when NO_COLOR is set. */
export const ColorsContext = createContext(true);

/** Return the Text props of a tone: its color or weight, or none when colors are off. */
export function useTone(): (tone: Tone) => TextProps {
  const colors = useContext(ColorsContext);
  return (tone) => (colors ? TONES[tone] : {});
}
