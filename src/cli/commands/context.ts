import { resolve } from 'node:path';
import type { Command } from 'commander';
import { addOutputOption, contextOf } from '../command.js';
import { type Context, ContextError, contextFilePath, readContexts, writeContexts } from '../contexts.js';
import { CliError, EXIT } from '../control-api.js';
import { show, table } from '../output.js';

// `snaplink context`: named servers (URL, admin token, CA), so the flags are not repeated on
// every call. The file is local: no server is reached.

function withContexts<T>(work: (file: string) => T): T {
  try {
    return work(contextFilePath());
  } catch (err) {
    if (err instanceof ContextError) throw new CliError(err.message, EXIT.usage);
    throw err;
  }
}

export function contextCommands(program: Command): void {
  const context = program.command('context').description('named servers: URL, admin token and CA under a name (--context, SNAPLINK_CONTEXT)');

  addOutputOption(context.command('set').description('make or change a context; the first one made is the current one'))
    .argument('<name>', 'the context')
    .option('--url <url>', 'base URL of the snaplink')
    .option('--admin-token <token>', 'its control API token (the file is readable by you only)')
    .option('--ca <file>', 'PEM file of the CA certificates to trust for it')
    .option('--insecure', 'do not check its TLS certificate')
    .action((name: string, _opts, command: Command) => {
      const { out, opts } = contextOf(command);
      withContexts((file) => {
        const all = readContexts(file);
        const made = !(name in all.contexts);
        const next: Context = { ...all.contexts[name] };
        if (opts.url !== undefined) {
          try {
            if (!/^https?:$/.test(new URL(opts.url).protocol)) throw new Error();
          } catch {
            throw new CliError(`--url ${opts.url} is not an http:// or https:// URL`, EXIT.usage);
          }
          next.url = opts.url;
        }
        if (opts.adminToken !== undefined) next.adminToken = opts.adminToken;
        if (opts.ca !== undefined) next.ca = resolve(opts.ca);
        if (opts.insecure) next.insecure = true;
        all.contexts[name] = next;
        all.current ??= name;
        writeContexts(all, file);
        show(out, { name, current: all.current === name, file }, (r) => `Context ${r.name} ${made ? 'made' : 'changed'}${r.current ? ' (the current one)' : ''}, in ${r.file}.`);
      });
    });

  addOutputOption(context.command('use').description('make a context the current one')).argument('<name>', 'the context').action((name: string, _opts, command: Command) => {
    const { out } = contextOf(command);
    withContexts((file) => {
      const all = readContexts(file);
      if (!(name in all.contexts)) throw new CliError(`no context named ${name} in ${file}: make it with \`snaplink context set ${name} --url …\``, EXIT.usage);
      all.current = name;
      writeContexts(all, file);
      show(out, { current: name }, () => `Now using context ${name}.`);
    });
  });

  addOutputOption(context.command('list').description('list contexts (never their tokens)')).action((_opts, command: Command) => {
    const { out } = contextOf(command);
    withContexts((file) => {
      const all = readContexts(file);
      const rows = Object.entries(all.contexts).map(([name, c]) => ({ name, current: name === all.current, url: c.url, ca: c.ca, insecure: c.insecure === true, adminToken: c.adminToken ? 'set' : 'not set' }));
      show(out, rows, (r) =>
        table(
          out,
          [
            { header: 'CURRENT', value: (c) => (c.current ? '*' : '') },
            { header: 'NAME', value: (c) => c.name },
            { header: 'URL', value: (c) => c.url ?? '-', flex: true },
            { header: 'TOKEN', value: (c) => c.adminToken },
            { header: 'CA', value: (c) => (c.insecure ? 'not checked' : (c.ca ?? '-')), flex: true },
          ],
          r,
          `No contexts in ${file}: make one with \`snaplink context set <name> --url … --admin-token …\`.`,
        ),
      );
    });
  });

  addOutputOption(context.command('delete').description('forget a context')).argument('<name>', 'the context').action((name: string, _opts, command: Command) => {
    const { out } = contextOf(command);
    withContexts((file) => {
      const all = readContexts(file);
      if (!(name in all.contexts)) throw new CliError(`no context named ${name} in ${file}`, EXIT.usage);
      delete all.contexts[name];
      if (all.current === name) delete all.current;
      writeContexts(all, file);
      show(out, { deleted: name }, () => `Deleted context ${name}.`);
    });
  });
}
