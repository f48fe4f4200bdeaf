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
}

/** Every credential (API key today) belongs to one organization and carries roles. */
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
  /** When the lifecycle's next transition is due; null when the endpoint rests. */
  due_at: number | null;
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
}
