/** Every `tandem` subcommand, in the order the help lists them. */
import type { Command } from '../command.ts';
import { baselineCommand } from './baseline.ts';
import { checkCommand } from './check.ts';
import { dataCommand } from './data.ts';
import { runCommand } from './run.ts';
import { schemaCommand } from './schema.ts';
import { summaryCommand } from './summary.ts';
import { validateCommand } from './validate.ts';

export const COMMANDS: Command[] = [runCommand, validateCommand, dataCommand, schemaCommand, checkCommand, baselineCommand, summaryCommand];
