/** Every `tandem` subcommand, in the order the help lists them. */
import type { Command } from '../command.ts';
import { runCommand } from './run.ts';

export const COMMANDS: Command[] = [runCommand];
