/**
 * The Ink screen of `tandem run`: finished items above, then the live state of the run or sweep.
 */
import { Box, Static, Text } from 'ink';
import { EpochTable } from './components/epoch-table.tsx';
import { Field } from './components/field.tsx';
import { LogItemView } from './components/log-item.tsx';
import { Notices } from './components/notices.tsx';
import { RunOutcome, StopRequested, SweepOutcome, TestResults } from './components/outcome.tsx';
import { EvaluationProgressView, TrainingProgressView } from './components/progress.tsx';
import { RunDetails } from './components/run-details.tsx';
import type { ScreenState } from './state.ts';
import { ColorsContext, useTone } from './theme.ts';
import { useTerminalWidth } from './use-terminal-width.ts';

export interface ScreenProps {
  /**
   * Screen state to draw. It is a prop rather than a store, so that Ink's `rerender` draws it at once, even
   * inside a long synchronous loop such as validation, where a store update would wait for the event loop.
   */
  state: ScreenState;
  /** False when NO_COLOR is set: no color, bold or dim at all. */
  colors: boolean;
}

export function Screen({ state, colors }: ScreenProps) {
  return (
    <ColorsContext.Provider value={colors}>
      <Static items={state.log}>{(item) => <LogItemView key={item.key} item={item} />}</Static>
      <LiveView state={state} />
    </ColorsContext.Provider>
  );
}

function LiveView({ state }: { state: ScreenState }) {
  const tone = useTone();
  const columns = useTerminalWidth();
  const { run, sweep } = state;
  const ended = Boolean(run.outcome || sweep?.end);
  let waiting = 0;
  if (sweep && !sweep.end) {
    const running = sweep.current ? 1 : 0;
    waiting = sweep.trials - sweep.finished - running;
  }
  return (
    <Box flexDirection="column">
      {sweep?.current && (
        <Box flexDirection="column">
          <Text wrap="truncate-end">
            <Text {...tone('accent')}>▶</Text> trial {sweep.current.trial}/{sweep.trials}  {sweep.current.label}
            {run.backend && ` · backend ${run.backend}`}
          </Text>
          {run.runDir && <Field label="run folder">{run.runDir}</Field>}
        </Box>
      )}
      {(!sweep || sweep.current) && <RunDetails run={run} />}
      <TrainingProgressView run={run} columns={columns} />
      <EvaluationProgressView run={run} columns={columns} />
      <EpochTable rows={run.recentEpochs} columns={columns} />
      <TestResults run={run} />
      <RunOutcome run={run} />
      {waiting > 0 && (
        <Text {...tone('muted')}>
          {waiting} {waiting === 1 ? 'trial' : 'trials'} waiting
        </Text>
      )}
      {sweep && <SweepOutcome sweep={sweep} />}
      <Notices notices={state.notices} logDir={state.logDir} />
      {state.stopRequested && !ended && <StopRequested />}
    </Box>
  );
}
