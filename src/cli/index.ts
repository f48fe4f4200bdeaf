import { Command, CommanderError } from 'commander';
import { VERSION } from '../app.js';
import { contextCommands } from './commands/context.js';
import { identityCommands } from './commands/identities.js';
import { runtimeCommands } from './commands/runtime.js';
import { storeCommands } from './commands/store.js';
import { completionCommand } from './completion.js';
import { CliError, EXIT } from './control-api.js';

// The `snaplink` command. `serve` runs the server; seed, backup, export, import and admin-token
// work on a store; `context` names servers; everything else drives a running server through
// its control API (commands/). Exit codes: 0 ok, 1 the server (or the store) refused, 2 a usage
// error, 3 the server cannot be reached (or what answers is not snaplink).

export function buildProgram(): Command {
  const program = new Command('snaplink')
    .description('A wire-faithful MongoDB Atlas Admin API v2 server for Cloud Backup object-storage private endpoints')
    .version(VERSION, '-v, --version', 'print the version')
    .showHelpAfterError('(add --help for usage)');
  storeCommands(program);
  identityCommands(program);
  runtimeCommands(program);
  contextCommands(program);
  completionCommand(program);
  // Usage errors exit 2, wherever in the tree commander finds them, and read like every other
  // message: `snaplink: …`.
  // Help wraps to the terminal (COLUMNS where it does not know its size), else 80 columns, even
  // beside long command names.
  const width = (stream: NodeJS.WriteStream) => (stream.isTTY && (stream.columns || Number(process.env.COLUMNS))) || 80;
  const settle = (c: Command) => {
    c.exitOverride();
    c.configureHelp({ minWidthToWrap: 20 });
    c.configureOutput({
      outputError: (text, write) => write(text.replace(/^error: /, 'snaplink: ')),
      getOutHelpWidth: () => width(process.stdout),
      getErrHelpWidth: () => width(process.stderr),
    });
    c.commands.forEach(settle);
  };
  settle(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // A reader that stops early (`snaplink export | head`) closes the pipe: the command ends
  // quietly, as a command in a pipeline does, whatever it was still writing.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.ok);
    throw err;
  });
  // -V was commander's version flag; it still works.
  if (argv[2] === '-V') argv = [...argv.slice(0, 2), '--version', ...argv.slice(3)];
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
