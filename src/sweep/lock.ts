/**
 * The lock of a sweep folder: a file with the id of the process that runs the sweep, so that two
 * processes never run the same sweep at once.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { fileSystemError, makeFolders } from '../artifacts/files.ts';
import { TandemError } from '../errors.ts';
import { sweepPath } from './manifest.ts';

export interface SweepLock {
  /** Deletes the lock file; calling it again does nothing. */
  release(): void;
}

/**
 * Takes the sweep folder's lock file, which holds this process's id, so that two processes never run the
 * same sweep. A lock left by a process that no longer exists, as after a `kill -9`, is taken over.
 * NOTE: a new process that reuses the dead one's id keeps the lock. The error message gives the file to delete.
 */
export function acquireSweepLock(sweepDir: string): SweepLock {
  const file = sweepPath(sweepDir, 'lock');
  try {
    makeFolders(sweepDir);
  } catch (error) {
    throw fileSystemError(sweepDir, error);
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return {
        release: () => {
          try {
            unlinkSync(file);
          } catch {
            // Already gone; nothing is left to release.
          }
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw fileSystemError(file, error);
    }
    const owner = Number.parseInt(readFileSync(file, 'utf8'), 10);
    if (Number.isInteger(owner) && owner !== process.pid && processExists(owner)) {
      throw new TandemError(
        `Another tandem process (pid ${owner}) is running the sweep in ${sweepDir}. Wait for it to end or stop it; ` +
          `if no such tandem process runs, delete ${file}.`,
      );
    }
    unlinkSync(file);
  }
  throw new TandemError(`Failed to take the lock ${file} of the sweep: another process took it at the same time.`);
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
