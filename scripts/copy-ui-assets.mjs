// Part of `npm run build`: the dashboard's page and styles go beside its compiled script.
import { cpSync } from 'node:fs';

cpSync(new URL('../src/ui/assets/', import.meta.url), new URL('../dist/ui/assets/', import.meta.url), {
  recursive: true,
  filter: (source) => !source.endsWith('.ts'),
});
