import { type Command, InvalidArgumentError, Option } from 'commander';
import { isObjectId } from '../atlas/object-id.js';
import { addConnectionOptions, type ControlApi, controlApi } from './control-api.js';
import { FORMATS, type Format, type Output, outputFor } from './output.js';

// The two kinds of command, declared once: those that drive a running server through its
// control API, and those that open a store while no server needs to run.

export interface Context {
  out: Output;
  /** The command's parsed options. */
  opts: Record<string, any>;
  command: Command;
}

export function addOutputOption(c: Command): Command {
  return c.addOption(new Option('-o, --output <format>', 'table (the default at a terminal), wide (every column), json (the default through a pipe) or yaml').choices(FORMATS));
}

export function contextOf(command: Command): Context {
  const opts = command.opts();
  return { out: outputFor(opts.output as Format | undefined), opts, command };
}

/** A command that talks to a running snaplink (its action is given by onControl). */
export function controlCommand(parent: Command, name: string, description: string, settings: { isDefault?: boolean } = {}): Command {
  return addOutputOption(addConnectionOptions(parent.command(name, settings).description(description)));
}

/** The action of a control command: `run` gets the control API, the output and the positional arguments. */
export function onControl(c: Command, run: (api: ControlApi, ctx: Context, ...args: any[]) => Promise<void>): Command {
  return c.action(async (...params: unknown[]) => {
    const command = params[params.length - 1] as Command;
    await run(controlApi(command), contextOf(command), ...params.slice(0, -2));
  });
}

export const number = (what: string) => (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number (${what})`);
  return n;
};

/** A number from `min` to `max` (fractions allowed). */
export const between = (min: number, max: number, what: string) => (v: string) => {
  const n = number(what)(v);
  if (n < min || n > max) throw new InvalidArgumentError(`expected a number from ${min} to ${max} (${what})`);
  return n;
};

/** An id of the store's (organization, project, endpoint, fault): 24 hexadecimal digits. */
export const objectId = (what: string) => (v: string) => {
  if (!isObjectId(v)) throw new InvalidArgumentError(`expected ${what} id: 24 hexadecimal digits`);
  return v;
};

export const collect = (value: string, previous: string[] = []) => [...previous, value];
