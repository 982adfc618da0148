/**
 * The last finished epochs: training loss and accuracy, validation loss and accuracy without and with text.
 */
import { Box, Text } from 'ink';
import type { EpochRow } from '../state.ts';
import { formatLoss, formatShare } from '../format.ts';
import { useTone } from '../theme.ts';

type Column = { title: string; width: number; value: (row: EpochRow) => string };

const COLUMNS: Column[] = [
  { title: 'epoch', width: 5, value: (row) => String(row.epoch) },
  { title: 'train loss', width: 10, value: (row) => formatLoss(row.trainLoss) },
  { title: 'train acc', width: 9, value: (row) => formatShare(row.trainAccuracy) },
  { title: 'val loss', width: 8, value: (row) => formatLoss(row.validation.loss) },
  { title: 'val acc without text', width: 20, value: (row) => formatShare(row.validation.accuracyWithoutText) },
  {
    title: 'with text',
    width: 9,
    // An image-only model reads no text, so it has no with-text accuracy.
    value: (row) => (row.validation.accuracyWithText === null ? 'n/a' : formatShare(row.validation.accuracyWithText)),
  },
];

/** Below this many columns the table leaves out the training accuracy and shortens a title. */
const FULL_TABLE_COLUMNS = 77;

const NARROW_COLUMNS: Column[] = COLUMNS.filter((column) => column.title !== 'train acc').map((column) =>
  column.title === 'train loss' ? { ...column, title: 'loss', width: 6 } : column,
);

function line(columns: Column[], cells: string[]): string {
  return cells.map((cell, i) => (i === 0 ? '' : '  ') + cell.padStart(columns[i].width)).join('');
}

/**
 * Render the last epochs as a table 71 columns wide plus 6 for the "best" mark, so that it fits an
 * 80-column terminal. The narrow form takes 62.
 */
export function EpochTable({ rows, columns }: { rows: EpochRow[]; columns: number }) {
  const tone = useTone();
  if (rows.length === 0) return null;
  const tableColumns = columns < FULL_TABLE_COLUMNS ? NARROW_COLUMNS : COLUMNS;
  return (
    <Box flexDirection="column">
      <Text {...tone('muted')}>{line(tableColumns, tableColumns.map((column) => column.title))}</Text>
      {rows.map((row) => (
        <Text key={row.epoch}>
          {line(
            tableColumns,
            tableColumns.map((column) => column.value(row)),
          )}
          {row.best && <Text {...tone('good')}>  best</Text>}
        </Text>
      ))}
    </Box>
  );
}
