import { Command, CommanderError } from 'commander';
import { VERSION } from '../app.js';
import { identityCommands } from './commands/identities.js';
import { runtimeCommands } from './commands/runtime.js';
import { storeCommands } from './commands/store.js';
import { completionCommand } from './completion.js';
import { CliError, EXIT } from './control-api.js';

// The `snaplink` command. `serve` runs the server; seed and admin-token work on a store;
// everything else drives a running server through its control API (commands/). Exit codes:
// 0 ok, 1 the server (or the store) refused, 2 a usage error, 3 the server cannot be reached.

export function buildProgram(): Command {
  const program = new Command('snaplink')
    .description('A wire-faithful MongoDB Atlas Admin API v2 server for Cloud Backup object-storage private endpoints')
    .version(VERSION)
    .showHelpAfterError('(add --help for usage)');
  storeCommands(program);
  identityCommands(program);
  runtimeCommands(program);
  completionCommand(program);
  // Usage errors exit 2, wherever in the tree commander finds them.
  const exitOverride = (c: Command) => {
    c.exitOverride();
    c.commands.forEach(exitOverride);
  };
  exitOverride(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; commander has printed the message already.
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    if (err instanceof CliError) {
      process.stderr.write(`snaplink: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    throw err;
  }
}
