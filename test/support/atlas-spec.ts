import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

// Where the test oracle comes from: MongoDB's official OpenAPI description of the four
// operations. It has its own licence (CC BY-NC-SA 3.0 US), so it is never part of the project:
// the suites read it from `SNAPLINK_ATLAS_SPEC`, from `../shared` beside the checkout (CI), or
// from what `npm run fetch-spec` cut out of the published whole document. Without any of these
// the oracle's spec checks are off, and test/run.ts says so.

type Json = any;

export const SUBSET_PREFIX = '/api/atlas/v2/groups/{groupId}/backup/{cloudProvider}/privateEndpoints';
const SUBSET_FILE = 'backup-private-endpoints.openapi.json';

/** A subset of the whole document: the operations (path → methods) it holds, and the file it is kept in. */
interface Subset {
  file: string;
  /** What the title says it is. */
  label: string;
  /** Each path with the methods of it taken; `undefined`: the whole path item. */
  operations: Record<string, readonly string[] | undefined>;
}

/** The resource's four operations: the whole two path items, as ../shared/atlas-openapi ships them. */
const ENDPOINTS_SUBSET: Subset = {
  file: SUBSET_FILE,
  label: SUBSET_PREFIX,
  operations: { [SUBSET_PREFIX]: undefined, [`${SUBSET_PREFIX}/{endpointId}`]: undefined },
};

/** Atlas's projects and organizations operations snaplink serves (DESIGN.md §10), and only those. */
export const PROJECTS_SUBSET: Subset = {
  file: 'projects-and-organizations.openapi.json',
  label: 'projects and organizations',
  operations: {
    '/api/atlas/v2/groups': ['get', 'post'],
    '/api/atlas/v2/groups/{groupId}': ['get', 'patch', 'delete'],
    '/api/atlas/v2/groups/byName/{groupName}': ['get'],
    '/api/atlas/v2/orgs': ['get'],
    '/api/atlas/v2/orgs/{orgId}': ['get'],
    '/api/atlas/v2/orgs/{orgId}/groups': ['get'],
  },
};

const SUBSETS = [ENDPOINTS_SUBSET, PROJECTS_SUBSET];

/** The whole published document the subset is cut from, pinned to one commit and its hash. */
const PINNED_SOURCE = {
  url: 'https://raw.githubusercontent.com/mongodb/mongodb-atlas-cli/6fd452a08ad9fdd0c3b5ca4ec1eca5fc1ea26253/tools/internal/specs/spec.yaml',
  sha256: '0fd914afb4a3e1ede2d0f48822fe30d7f1ba2c287625382dfb98bbe2606119f9',
  bytes: 4_004_216,
};

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where `npm run fetch-spec` writes the subset (git-ignored). */
const FETCHED_DIR = join(REPO_ROOT, '.cache', 'atlas-openapi');

/** The nearest `shared/atlas-openapi/` beside the checkout or one of its ancestors. */
export function sharedSpecDir(): string | undefined {
  for (let dir = REPO_ROOT; ; dir = dirname(dir)) {
    const candidate = join(dir, '..', 'shared', 'atlas-openapi');
    if (existsSync(join(candidate, SUBSET_FILE))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

export interface SpecLocation {
  path: string;
  /** How it was found, for the notice test/run.ts prints. */
  via: string;
}

/** Where the resource's subset is, or undefined when the oracle's spec checks must be off. */
export function locateOfficialSpec(): SpecLocation | undefined {
  const fromEnv = process.env.SNAPLINK_ATLAS_SPEC;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`SNAPLINK_ATLAS_SPEC names ${fromEnv}, which does not exist`);
    return { path: fromEnv, via: 'SNAPLINK_ATLAS_SPEC' };
  }
  const shared = sharedSpecDir();
  if (shared) return { path: join(shared, SUBSET_FILE), via: '../shared' };
  const fetched = join(FETCHED_DIR, SUBSET_FILE);
  if (existsSync(fetched)) return { path: fetched, via: 'npm run fetch-spec' };
  return undefined;
}

/**
 * Where the projects and organizations subset is: beside SNAPLINK_ATLAS_SPEC's file, else what
 * `npm run fetch-spec` wrote. ../shared ships only the whole document for it, so there it is cut
 * from that (checked against the pinned hash, as a download is) into the fetch-spec directory
 * once. Undefined when none of these exists: the oracle's spec checks of these operations are off.
 */
export function locateProjectsSpec(): SpecLocation | undefined {
  const fromEnv = process.env.SNAPLINK_ATLAS_SPEC;
  if (fromEnv) {
    const beside = join(dirname(fromEnv), PROJECTS_SUBSET.file);
    return existsSync(beside) ? { path: beside, via: 'SNAPLINK_ATLAS_SPEC (beside it)' } : undefined;
  }
  const fetched = join(FETCHED_DIR, PROJECTS_SUBSET.file);
  if (existsSync(fetched)) return { path: fetched, via: 'npm run fetch-spec' };
  const shared = sharedSpecDir();
  const upstream = shared && join(shared, 'upstream', 'spec.yaml');
  if (upstream && existsSync(upstream)) {
    writeSubsets(subsetsFromWhole(readFileSync(upstream), upstream), FETCHED_DIR, [PROJECTS_SUBSET]);
    return { path: fetched, via: '../shared/atlas-openapi/upstream/spec.yaml, cut into .cache/atlas-openapi/' };
  }
  return undefined;
}

export const ORACLE_OFF_NOTICE =
  'The official Atlas spec was not found, so answers are NOT checked against it (the envelope checks still run). ' +
  'Run `npm run fetch-spec` once, or set SNAPLINK_ATLAS_SPEC to the subset file.';

/**
 * The two published defects, repaired as DESIGN.md says: region enums wrapped in
 * `{type: object, oneOf: [string enum]}` become the string enum (the outer `type: object`
 * contradicts the string every client sends); `ApiError.parameters` accepts any item (Atlas
 * puts plain strings there). Returns a repaired copy.
 */
export function repairPublishedDefects(spec: Json): Json {
  const walk = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== 'object') return node;
    if (node.type === 'object' && Array.isArray(node.oneOf) && node.oneOf.length === 1 && node.oneOf[0].type === 'string') {
      const { type: _t, oneOf, ...rest } = node;
      return walk({ ...rest, ...oneOf[0] });
    }
    const out: Json = {};
    for (const [k, v] of Object.entries(node)) out[k] = walk(v);
    return out;
  };
  const repaired = walk(spec);
  repaired.components.schemas.ApiError.properties.parameters.items = {};
  return repaired;
}

/**
 * Cuts the resource's subset out of the whole multi-version document, as SOURCE.md describes:
 * the two path items and every component they reach through `$ref` (transitively), verbatim;
 * servers, the global security, the security schemes and the operations' tags, verbatim;
 * `info` with a " (subset: …)" suffix on its title; provenance under `x-subset-source`.
 */
function cutSubset(whole: Json, subset: Subset, provenance: Json): Json {
  const paths: Json = {};
  for (const [p, methods] of Object.entries(subset.operations)) {
    const item = whole.paths?.[p];
    if (!item) throw new Error(`the document has no path ${p}`);
    if (methods === undefined) paths[p] = item;
    else {
      // The operations taken and what applies to all of them (path-level parameters).
      const { get: _g, put: _u, post: _p, patch: _a, delete: _d, head: _h, options: _o, trace: _t, ...shared } = item;
      paths[p] = { ...shared };
      for (const m of methods) {
        if (!item[m]) throw new Error(`the document has no ${m.toUpperCase()} ${p}`);
        paths[p][m] = item[m];
      }
    }
  }

  const components: Json = {};
  const pending: Json[] = [paths];
  while (pending.length > 0) {
    const node = pending.pop();
    if (Array.isArray(node)) pending.push(...node);
    else if (node !== null && typeof node === 'object') {
      if (typeof node.$ref === 'string') {
        const m = /^#\/components\/([^/]+)\/([^/]+)$/.exec(node.$ref);
        if (!m) throw new Error(`unsupported $ref ${node.$ref}`);
        const [, section, name] = m as unknown as [string, string, string];
        if (!components[section]?.[name]) {
          const target = whole.components?.[section]?.[name];
          if (target === undefined) throw new Error(`dangling $ref ${node.$ref}`);
          (components[section] ??= {})[name] = target;
          pending.push(target);
        }
      }
      pending.push(...Object.values(node));
    }
  }
  components.securitySchemes = whole.components.securitySchemes;

  const tagNames = new Set(Object.values<Json>(paths).flatMap((item) => Object.values<Json>(item).flatMap((op) => op?.tags ?? [])));
  return {
    openapi: whole.openapi,
    info: { ...whole.info, title: `${whole.info.title} (subset: ${subset.label})` },
    servers: whole.servers,
    security: whole.security,
    tags: (whole.tags ?? []).filter((t: Json) => tagNames.has(t.name)),
    paths,
    components,
    'x-subset-source': provenance,
  };
}

/** Reads a whole document (YAML or JSON), checks its bytes against the pinned hash, and cuts every subset from it. */
function subsetsFromWhole(bytes: Buffer, origin: string): Map<Subset, Json> {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== PINNED_SOURCE.sha256) {
    throw new Error(`${origin}: sha256 ${sha256} (${bytes.length} bytes) is not the pinned ${PINNED_SOURCE.sha256} (${PINNED_SOURCE.bytes} bytes); refusing to use it`);
  }
  const whole = parseYaml(bytes.toString('utf8'), { maxAliasCount: -1 });
  const provenance = { takenFrom: origin, pinnedUrl: PINNED_SOURCE.url, sha256, cutBy: 'snaplink test/support/atlas-spec.ts' };
  return new Map(SUBSETS.map((s) => [s, cutSubset(whole, s, provenance)]));
}

/** Writes subsets into `outDir`, each file whole or not at all (test processes may cut at once). */
function writeSubsets(cut: Map<Subset, Json>, outDir: string, only: readonly Subset[] = SUBSETS): string[] {
  mkdirSync(outDir, { recursive: true });
  return only.map((subset) => {
    const out = join(outDir, subset.file);
    const partial = `${out}.${process.pid}.tmp`;
    writeFileSync(partial, `${JSON.stringify(cut.get(subset), null, 2)}\n`);
    renameSync(partial, out);
    return out;
  });
}

/**
 * `npm run fetch-spec`: download (or read) the whole document, check it, write the subsets. The
 * resource's subset's path comes first.
 */
export async function fetchSpec(from: string = PINNED_SOURCE.url, outDir: string = FETCHED_DIR): Promise<string[]> {
  let bytes: Buffer;
  if (/^https?:\/\//.test(from)) {
    const res = await fetch(from);
    if (!res.ok) throw new Error(`GET ${from}: HTTP ${res.status}`);
    bytes = Buffer.from(await res.arrayBuffer());
  } else {
    bytes = readFileSync(from);
  }
  return writeSubsets(subsetsFromWhole(bytes, from), outDir);
}

// `npm run fetch-spec [-- --from <url or file>]`
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--from');
  const from = i > 0 ? process.argv[i + 1] : undefined;
  fetchSpec(from).then(
    (out) => console.log(`wrote ${out.join(' and ')}\nThe suites now check every answer against them (git-ignored: the spec has its own licence).`),
    (err: Error) => {
      console.error(`fetch-spec failed: ${err.message}${err.cause ? ` (${(err.cause as Error).message})` : ''}`);
      process.exit(1);
    },
  );
}
