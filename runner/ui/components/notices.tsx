/**
 * Warnings and errors where they happen, with the event log that keeps them.
 */
import { Box, Text } from 'ink';
import { eventLogPath } from '../../reporters/messages.ts';
import type { Notice } from '../state.ts';
import { useTone } from '../theme.ts';
import { Field } from './field.tsx';

/** Warnings shown at once; older ones are counted. Every error is shown. */
const SHOWN_WARNINGS = 3;

export function Notices({ notices, logDir }: { notices: Notice[]; logDir: string | null }) {
  const tone = useTone();
  if (notices.length === 0) return null;
  const warnings = notices.filter((notice) => notice.kind === 'warning');
  const hidden = Math.max(0, warnings.length - SHOWN_WARNINGS);
  const shownWarnings = new Set(warnings.slice(hidden));
  const visibleNotices = notices.filter((notice) => notice.kind === 'error' || shownWarnings.has(notice));
  return (
    <Box flexDirection="column">
      {hidden > 0 && <Text {...tone('muted')}>{hidden} earlier {hidden === 1 ? 'warning' : 'warnings'} not shown</Text>}
      {visibleNotices.map((notice, index) => (
        <Text key={index}>
          <Text {...tone(notice.kind)}>{notice.kind}:</Text> {notice.message}
        </Text>
      ))}
      {logDir && <Field label="log">{eventLogPath(logDir)}</Field>}
    </Box>
  );
}
