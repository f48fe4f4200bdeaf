import type { ColumnType, Generated, GeneratedAlways, Kysely } from 'kysely';

// The tables, as Kysely sees them. Times are integer milliseconds since the epoch on both
// SQLite and PostgreSQL (bigint there), so nothing depends on a dialect's date handling.

export interface OrganizationsTable {
  id: string;
  name: string;
  created_at: number;
}

export interface ProjectsTable {
  id: string;
  org_id: string;
  name: string;
  created_at: number;
  /** Atlas's resource tags, a JSON list of {key, value} (migration 0010). */
  tags: Generated<string>;
  /** 1 or 0: whether Atlas's default alert settings were asked for (migration 0010). */
  with_default_alerts_settings: Generated<number>;
}

/** Every credential (API key or service account) belongs to one organization and carries roles. */
export interface CredentialsTable {
  id: string;
  kind: 'API_KEY' | 'SERVICE_ACCOUNT';
  org_id: string;
  description: string;
  created_at: number;
}

export interface ApiKeysTable {
  credential_id: string;
  public_key: string;
  /** Digest HA1 values — H(publicKey:realm:privateKey) — the only form the private key is kept in. */
  ha1_md5: string;
  ha1_sha256: string;
}

export interface ServiceAccountsTable {
  credential_id: string;
  client_id: string;
  secret_hash: string;
  secret_created_at: number;
}

export interface AccessTokensTable {
  token_hash: string;
  credential_id: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

export interface RolesTable {
  credential_id: string;
  /** An organization id for ORG_* roles, a project id for GROUP_* roles. */
  scope_id: string;
  role_name: string;
}

export interface AccessListTable {
  credential_id: string;
  cidr: string;
}

export interface PrivateEndpointsTable {
  id: string;
  group_id: string;
  cloud_provider: string;
  region_name: string;
  vpc_region_name: string;
  status: string;
  connection_name: string | null;
  error_message: string | null;
  created_at: number;
  updated_at: number;
  /** When the lifecycle's next transition is due (virtual clock); null when the endpoint rests. */
  due_at: number | null;
  /** The runner holding this endpoint's due work, until lease_until (real clock). */
  lease_owner: string | null;
  lease_until: number | null;
  attempts: Generated<number>;
  generation: Generated<number>;
  /** The endpoint as the API shows it, JSON text kept by the database (migration 0006). */
  wire: GeneratedAlways<string>;
}

export interface FaultsTable {
  id: string;
  kind: string;
  group_id: string | null;
  region_name: string | null;
  operation: string | null;
  /** How many times it may fire; null: until removed. */
  count: number | null;
  remaining: number | null;
  /** Chance of firing on each match; null: always. */
  probability: number | null;
  seed: number;
  matched: Generated<number>;
  fired: Generated<number>;
  /** Kind-specific settings (message, status, errorCode, detail, latencyMs, afterSeconds), JSON. */
  params: string;
  created_at: number;
}

export interface SettingsTable {
  key: string;
  value: string;
}

export interface Tables {
  organizations: OrganizationsTable;
  projects: ProjectsTable;
  credentials: CredentialsTable;
  api_keys: ApiKeysTable;
  roles: RolesTable;
  access_list: AccessListTable;
  private_endpoints: PrivateEndpointsTable;
  settings: SettingsTable;
  faults: FaultsTable;
  counters: CountersTable;
  service_accounts: ServiceAccountsTable;
  access_tokens: AccessTokensTable;
  digest_nonce_uses: DigestNonceUsesTable;
  endpoint_history: EndpointHistoryTable;
  request_journal_batches: RequestJournalBatchesTable;
  auth_failures: AuthFailuresTable;
  auth_lockouts: AuthLockoutsTable;
}

/** The store, through Kysely: the same type over SQLite and PostgreSQL. */
export type Db = Kysely<Tables>;
export type Dialect = 'sqlite' | 'postgres';

/** Each status an endpoint entered (migration 0008). */
export interface EndpointHistoryTable {
  id: Generated<number>;
  endpoint_id: string;
  status: string;
  /** When, on the lifecycle's (virtual) clock and on the wall clock. */
  virtual_at: number;
  wall_at: number;
  /** The node (its runner's name) that made the change. */
  node: string;
  reason: string;
}

/**
 * Tables whose writes acknowledge nothing, so answers do not wait for them to be synced on
 * SQLite: the request journal is for looking (its batches may be dropped; after a power cut its
 * newest entries, or a clear, may be undone). Any later synced write's fsync covers them too.
 */
export const UNSYNCED_TABLES: ReadonlySet<string> = new Set<keyof Tables>(['request_journal_batches']);

/**
 * The request journal, a batch of entries to a row (migration 0009; one row per entry before):
 * the journal writes one row per batch instead of hundreds, a few µs less per request on either
 * store, and it reads entries by id, newest first, filtering them as it goes.
 */
export interface RequestJournalBatchesTable {
  /** The id of the batch's newest entry; its entries have the ids first_id to last_id, in order. */
  last_id: number;
  /** last_id + 1 for an empty batch (the mark a clear leaves, so ids are never used twice). */
  first_id: number;
  /** The newest `at` among its entries (ms since the epoch), to skip batches older than a `since`. */
  last_at: number;
  /** A JSON array of entries, each an array of JOURNAL_FIELDS' values in that order (a batch written before migration 0011 lacks the fields after `node`). */
  entries: string;
  /**
   * What each entry sent and got (migration 0011): a JSON array in the order of `entries`, each
   * [request headers, request body, response headers, response body], redacted and capped
   * (journal/capture.ts); null for a batch written before.
   */
  details: string | null;
  /** The size of entries and details, in characters: the journal is kept within --journal-bytes (0 unless given). */
  bytes: ColumnType<number, number | undefined, number>;
}

/** The fields of a stored journal entry, in the order of its array in `entries`. */
export const JOURNAL_FIELDS = [
  'at',
  'method',
  'path',
  'group_id',
  'operation',
  'principal',
  'status',
  'error_code',
  'error_detail',
  'duration_ms',
  'request_id',
  'node',
  // Migration 0011.
  'claimed',
  'challenge',
  'fault_id',
  'endpoint_id',
  'nonce',
] as const;

/** The fields migration 0009 moved over (a journal of that time had no others). */
export const JOURNAL_FIELDS_0009 = JOURNAL_FIELDS.slice(0, 12);

/** One failed authentication from a client address (PostgreSQL; migration 0007). */
export interface AuthFailuresTable {
  address: string;
  at: number;
}

/** A client address refused until `locked_until` (PostgreSQL; migration 0007). */
export interface AuthLockoutsTable {
  address: string;
  locked_until: number;
}

export interface DigestNonceUsesTable {
  nonce: string;
  nc: number;
  expires_at: number;
}

export interface CountersTable {
  key: string;
  value: number;
}
