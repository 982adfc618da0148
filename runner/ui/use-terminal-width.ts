import { useStdout } from 'ink';
import { useEffect, useReducer } from 'react';

/**
 * Columns of the terminal Ink writes to; 80 when stdout is not a terminal. The component renders again
 * when the terminal is resized, and reads the width on every render, so a rerender never uses a stale one.
 *
 * NOTE: when a terminal that rewraps long lines (tmux, for one) becomes narrower than the longest live
 * line, Ink 6.8 erases only as many rows as it drew, so stale copies of the rewrapped lines stay above the
 * new frame. Widening leaves no such copies.
 */
export function useTerminalWidth(): number {
  const { stdout } = useStdout();
  const [, redraw] = useReducer((count: number) => count + 1, 0);
  useEffect(() => {
    stdout.on('resize', redraw);
    return () => {
      stdout.off('resize', redraw);
    };
  }, [stdout]);
  return stdout.columns || 80;
}
