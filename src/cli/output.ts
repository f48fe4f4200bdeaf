// How the command line prints: JSON (or YAML) for scripts, tables and `key: value` lines for
// people. A terminal gets tables unless `-o json` is asked; a pipe gets JSON unless `-o table`
// is. Tables are narrow by default, to fit a terminal (80 columns); `-o wide` adds the other
// columns (kubectl's manners). At a terminal, a table wider than it shortens its free-text
// columns with "…". Colour only on a terminal, and never with NO_COLOR set.

export const FORMATS = ['table', 'wide', 'json', 'yaml'] as const;
export type Format = (typeof FORMATS)[number];

export interface Output {
  format: Format;
  /** A table for people (`table` or `wide`). */
  human: boolean;
  /** Every column (`-o wide`). */
  wide: boolean;
  color: boolean;
  /** The terminal's width, when writing to one. */
  width: number | undefined;
  /** Writes a whole answer. */
  write(text: string): void;
}

export function outputFor(asked: Format | undefined, stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): Output {
  const tty = stream.isTTY === true;
  const format = asked ?? (tty ? 'table' : 'json');
  const human = format === 'table' || format === 'wide';
  // https://no-color.org: present and not empty.
  const color = human && tty && !env.NO_COLOR;
  // A pseudo-terminal may not know its size (0): then COLUMNS, as shells set it.
  const width = tty ? stream.columns || Number(env.COLUMNS) || undefined : undefined;
  return { format, human, wide: format === 'wide', color, width, write: (text) => void stream.write(text.endsWith('\n') ? text : `${text}\n`) };
}

/** Prints `json` as JSON or YAML or, for people, what `human` makes of it. */
export function show<T>(out: Output, json: T, human: (value: T) => string): void {
  out.write(out.format === 'json' ? JSON.stringify(json, null, 2) : out.format === 'yaml' ? toYaml(json) : human(json));
}

// YAML for the JSON values the control API answers: block style, strings plain where YAML would
// read them back as the same string, else double-quoted (a JSON string is a valid YAML one).
const PLAIN = /^[A-Za-z_./][\w./@+-]*(?:[ :][\w./@+-]+)*$/;
const RESERVED = /^(?:null|Null|NULL|~|true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|y|Y|n|N|\.nan|\.NaN|\.NAN|[-+]?\.(?:inf|Inf|INF))$/;
const scalar = (v: unknown): string => {
  if (typeof v === 'string') return PLAIN.test(v) && !RESERVED.test(v) && !v.includes(': ') && !v.endsWith(':') ? v : JSON.stringify(v);
  return v === undefined ? 'null' : JSON.stringify(v);
};
const isBlock = (v: unknown) => v !== null && typeof v === 'object' && Object.keys(v).length > 0;
/** A value on the line of its key or dash: a scalar, or an empty list or map. */
const inline = (v: unknown) => (Array.isArray(v) ? '[]' : v !== null && typeof v === 'object' ? '{}' : scalar(v));

function yamlLines(v: unknown, indent: string): string[] {
  if (Array.isArray(v)) {
    return v.flatMap((item) => {
      if (!isBlock(item)) return [`${indent}- ${inline(item)}`];
      const [first, ...rest] = yamlLines(item, `${indent}  `);
      return [`${indent}- ${first!.slice(indent.length + 2)}`, ...rest];
    });
  }
  return Object.entries(v as Record<string, unknown>).flatMap(([k, item]) =>
    isBlock(item) ? [`${indent}${scalar(k)}:`, ...yamlLines(item, Array.isArray(item) ? indent : `${indent}  `)] : [`${indent}${scalar(k)}: ${inline(item)}`],
  );
}

/** A YAML document of a JSON value. */
export function toYaml(value: unknown): string {
  return isBlock(value) ? yamlLines(value, '').join('\n') : inline(value);
}

// SGR codes, not a library: five fixed sequences, and the decision to use them is made above
// (node:util's styleText decides by itself on Node 22 and up, differently on 20).
const SGR = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39] } as const;
export type Style = keyof typeof SGR;
export const paint = (out: Pick<Output, 'color'>, style: Style, text: string) =>
  out.color && text !== '' ? `\x1b[${SGR[style][0]}m${text}\x1b[${SGR[style][1]}m` : text;

/** The colour a status is shown in: settled well, settled badly, on its way. */
export function statusStyle(status: string): Style {
  if (status === 'ACTIVE' || status === 'ready') return 'green';
  if (status === 'FAILED' || status === 'unavailable') return 'red';
  return 'yellow';
}

export interface Column<T> {
  header: string;
  value(row: T): string;
  style?(row: T): Style | undefined;
  /** Shown only with `-o wide`. */
  wide?: boolean;
  /** Free text, shortened with "…" when the table is wider than the terminal. */
  flex?: boolean;
}

const ELLIPSIS = '…';
const clip = (v: string, width: number) => (v.length <= width ? v : `${v.slice(0, Math.max(0, width - 1))}${ELLIPSIS}`);

/**
 * An aligned table: upper-case headers, two spaces between columns, no trailing blanks. Wide-only
 * columns appear with `-o wide`; at a terminal, without it, the widest flex column gives up a
 * character at a time (down to its header's width) until each line fits.
 */
export function table<T>(out: Pick<Output, 'color' | 'wide' | 'width'>, all: Column<T>[], rows: T[], empty: string): string {
  if (rows.length === 0) return empty;
  const columns = all.filter((c) => out.wide || !c.wide);
  const cells = rows.map((r) => columns.map((c) => c.value(r)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  if (out.width !== undefined && !out.wide) {
    let over = widths.reduce((a, b) => a + b, 0) + 2 * (columns.length - 1) - out.width;
    while (over > 0) {
      let widest = -1;
      columns.forEach((c, i) => {
        if (c.flex && widths[i]! > c.header.length && (widest === -1 || widths[i]! > widths[widest]!)) widest = i;
      });
      if (widest === -1) break;
      widths[widest]!--;
      over--;
    }
    for (const row of cells) row.forEach((v, i) => (row[i] = clip(v, widths[i]!)));
  }
  const line = (values: string[], styles: (Style | undefined)[]) =>
    values
      .map((v, i) => {
        const padded = i === values.length - 1 ? v : v.padEnd(widths[i]!);
        const s = styles[i];
        return s ? paint(out, s, v) + padded.slice(v.length) : padded;
      })
      .join('  ')
      .trimEnd();
  return [
    line(columns.map((c) => c.header), columns.map(() => 'bold' as Style)),
    ...rows.map((r, n) => line(cells[n]!, columns.map((c) => c.style?.(r)))),
  ].join('\n');
}

/** `key: value` lines for one object, the values aligned. */
export function fields(pairs: [string, string][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length)) + 1;
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`.trimEnd()).join('\n');
}

/** 1h 2m, 1m 58s, 3s: the two largest units, for people. */
export function duration(ms: number): string {
  let s = Math.max(0, Math.round(Math.abs(ms) / 1000));
  const units: [string, number][] = [['d', 86_400], ['h', 3600], ['m', 60], ['s', 1]];
  const parts: string[] = [];
  for (const [name, size] of units) {
    if (s >= size || (name === 's' && parts.length === 0)) {
      parts.push(`${Math.floor(s / size)}${name}`);
      s %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

/** "in 1m 58s" or "3s ago", from `now`. */
export const relative = (at: number, now: number) => (at >= now ? `in ${duration(at - now)}` : `${duration(now - at)} ago`);

const pad2 = (n: number) => String(n).padStart(2, '0');
/** The local time, to the second: 2026-12-01 06:02:11. */
export function localTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** The local absolute time with how far it is from `now`: 2026-12-01 06:02:11 (3s ago). */
export const when = (iso: string | null | undefined, now: number) => (iso ? `${localTime(Date.parse(iso))} (${relative(Date.parse(iso), now)})` : '-');
