/**
 * Test-only pauses that let a test kill a run at an exact point instead of relying on timing. Each is
 * off unless its environment variable is set; users have no reason to set them.
 *
 * - TANDEM_TEST_PAUSE_AFTER_STEP=<epoch>:<step>:<milliseconds> blocks the process after that training
 *   step's batch-end event is in events.ndjson, in the middle of the epoch.
 * - TANDEM_TEST_PAUSE_IN_CHECKPOINT=<epoch>:<milliseconds> waits after that epoch's checkpoint is
 *   complete in its temporary folder and before the folder is renamed into place.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventListener } from '../events.ts';
import { TandemError } from '../errors.ts';

export const PAUSE_AFTER_STEP_VARIABLE = 'TANDEM_TEST_PAUSE_AFTER_STEP';
export const PAUSE_IN_CHECKPOINT_VARIABLE = 'TANDEM_TEST_PAUSE_IN_CHECKPOINT';

/** Read the numbers of a pause variable; null when it is not set. Throws a TandemError when it is malformed. */
function readPause(variable: string, fields: number, example: string): number[] | null {
  const setting = process.env[variable];
  if (setting === undefined || setting === '') return null;
  const numbers = setting.trim().split(':');
  if (numbers.length !== fields || !numbers.every((part) => /^\d+$/.test(part))) {
    throw new TandemError(`The test setting ${variable} must look like ${example}, but it is "${setting}".`);
  }
  return numbers.map(Number);
}

/**
 * Wrap `emit` so that it blocks the whole process, timers included, after the batch-end event that
 * TANDEM_TEST_PAUSE_AFTER_STEP names. Returns `emit` itself when the variable is not set.
 */
export function pauseAfterStepForTests(emit: EventListener): EventListener {
  const pause = readPause(PAUSE_AFTER_STEP_VARIABLE, 3, '<epoch>:<step>:<milliseconds>, e.g. 2:1:60000');
  if (pause === null) return emit;
  const [epoch, step, milliseconds] = pause;
  return (event) => {
    emit(event);
    if (event.type === 'batch-end' && event.epoch === epoch && event.batch === step) {
      // A synchronous wait, so that nothing else of the run moves while the test kills it.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, milliseconds);
    }
  };
}

/** Wait for the time TANDEM_TEST_PAUSE_IN_CHECKPOINT sets when `epoch` is its epoch; return at once otherwise. */
export async function pauseInCheckpointForTests(epoch: number): Promise<void> {
  const pause = readPause(PAUSE_IN_CHECKPOINT_VARIABLE, 2, '<epoch>:<milliseconds>, e.g. 2:60000');
  if (pause !== null && pause[0] === epoch) await sleep(pause[1]);
}
