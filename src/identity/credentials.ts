import { newObjectId } from '../atlas/object-id.js';
import { type Db, transaction } from '../store/database.js';
import { AdminError, iso, resolveGrants, type RoleInput, roleView } from './admin.js';
import { keyHashes, newPrivateKey, newPublicKey, PUBLIC_KEY_PATTERN } from './api-keys.js';
import * as repo from './repository.js';
import { CLIENT_ID_PATTERN, hashSecret, newClientId, newClientSecret } from './secrets.js';

// Managing credentials: API keys (HTTP Digest) and service accounts (OAuth 2.0 client
// credentials). Each belongs to one organization and carries roles and an access list; each
// secret is shown once, when it is made, and kept only in a form that cannot give it back.

export interface CredentialGrants {
  orgId?: string;
  description?: string;
  roles: RoleInput[];
  accessList?: string[];
}

interface CredentialView {
  id: string;
  orgId: string;
  description: string;
  roles: RoleInput[];
  accessList: string[];
  createdAt: string;
}

export interface ApiKeyView extends CredentialView {
  publicKey: string;
}

export interface ServiceAccountView extends CredentialView {
  clientId: string;
  secretCreatedAt: string;
}

export type CredentialKind = 'apiKey' | 'serviceAccount';

async function grantsView(db: Db, credentialId: string) {
  const g = await repo.loadGrants(db, credentialId);
  return { roles: g.roles.map(roleView), accessList: g.accessList };
}

async function apiKeyView(db: Db, k: repo.ApiKeyRow): Promise<ApiKeyView> {
  return { id: k.id, publicKey: k.publicKey, orgId: k.orgId, description: k.description, ...(await grantsView(db, k.id)), createdAt: iso(k.createdAt) };
}

async function serviceAccountView(db: Db, a: repo.ServiceAccountRow): Promise<ServiceAccountView> {
  return {
    id: a.id,
    clientId: a.clientId,
    orgId: a.orgId,
    description: a.description,
    ...(await grantsView(db, a.id)),
    createdAt: iso(a.createdAt),
    secretCreatedAt: iso(a.secretCreatedAt),
  };
}

// ——— API keys ———

export function checkKeyPair(publicKey: string, privateKey: string): void {
  if (!PUBLIC_KEY_PATTERN.test(publicKey)) throw new AdminError('invalid', `public key ${JSON.stringify(publicKey)} must be 1–64 letters, digits, '.', '_' or '-'`);
  if (privateKey.length < 8 || privateKey.length > 256) throw new AdminError('invalid', `the private key of ${publicKey} must be 8 to 256 characters`);
}

export async function createApiKey(db: Db, input: CredentialGrants & { publicKey?: string; privateKey?: string }): Promise<ApiKeyView & { privateKey: string }> {
  const publicKey = input.publicKey ?? newPublicKey();
  const privateKey = input.privateKey ?? newPrivateKey();
  checkKeyPair(publicKey, privateKey);
  if (await repo.getApiKeyRow(db, publicKey)) throw new AdminError('conflict', `API key ${publicKey} already exists`);
  const { orgId, grants, accessList } = await resolveGrants(db, input.orgId, input.roles, input.accessList ?? []);
  const row: repo.ApiKeyRow = { id: newObjectId(), orgId, publicKey, description: input.description ?? '', ...keyHashes(publicKey, privateKey), createdAt: Date.now() };
  await transaction(db, async (trx) => {
    await repo.putApiKey(trx, row);
    await repo.replaceGrants(trx, row.id, grants, accessList);
  });
  return { ...(await apiKeyView(db, row)), privateKey };
}

export async function listApiKeys(db: Db, orgId?: string): Promise<ApiKeyView[]> {
  return Promise.all((await repo.listApiKeyRows(db, orgId)).map((k) => apiKeyView(db, k)));
}

async function apiKeyOrThrow(db: Db, publicKey: string): Promise<repo.ApiKeyRow> {
  const key = await repo.getApiKeyRow(db, publicKey);
  if (!key) throw new AdminError('not_found', `no API key ${publicKey}`);
  return key;
}

export async function deleteApiKey(db: Db, publicKey: string): Promise<void> {
  await repo.deleteCredential(db, (await apiKeyOrThrow(db, publicKey)).id);
}

/** A new private key for an existing public key; the old one stops working at once. */
export async function rotateApiKey(db: Db, publicKey: string): Promise<ApiKeyView & { privateKey: string }> {
  const key = await apiKeyOrThrow(db, publicKey);
  const privateKey = newPrivateKey();
  const row = { ...key, ...keyHashes(publicKey, privateKey) };
  await repo.putApiKey(db, row);
  return { ...(await apiKeyView(db, row)), privateKey };
}

// ——— service accounts ———

export function checkClientCredentials(clientId: string, clientSecret: string): void {
  if (!CLIENT_ID_PATTERN.test(clientId)) throw new AdminError('invalid', `client id ${JSON.stringify(clientId)} must be 1–128 letters, digits, '.', '_' or '-'`);
  if (clientSecret.length < 16 || clientSecret.length > 256) throw new AdminError('invalid', `the secret of ${clientId} must be 16 to 256 characters`);
}

export async function createServiceAccount(
  db: Db,
  input: CredentialGrants & { clientId?: string; clientSecret?: string },
): Promise<ServiceAccountView & { clientSecret: string }> {
  const clientId = input.clientId ?? newClientId();
  const clientSecret = input.clientSecret ?? newClientSecret();
  checkClientCredentials(clientId, clientSecret);
  if (await repo.getServiceAccountRow(db, clientId)) throw new AdminError('conflict', `service account ${clientId} already exists`);
  const { orgId, grants, accessList } = await resolveGrants(db, input.orgId, input.roles, input.accessList ?? []);
  const now = Date.now();
  const row: repo.ServiceAccountRow = {
    id: newObjectId(),
    orgId,
    clientId,
    description: input.description ?? '',
    secretHash: await hashSecret(clientSecret),
    createdAt: now,
    secretCreatedAt: now,
  };
  await transaction(db, async (trx) => {
    await repo.putServiceAccount(trx, row);
    await repo.replaceGrants(trx, row.id, grants, accessList);
  });
  return { ...(await serviceAccountView(db, row)), clientSecret };
}

export async function listServiceAccounts(db: Db, orgId?: string): Promise<ServiceAccountView[]> {
  return Promise.all((await repo.listServiceAccountRows(db, orgId)).map((a) => serviceAccountView(db, a)));
}

async function serviceAccountOrThrow(db: Db, clientId: string): Promise<repo.ServiceAccountRow> {
  const account = await repo.getServiceAccountRow(db, clientId);
  if (!account) throw new AdminError('not_found', `no service account ${clientId}`);
  return account;
}

/** Deletes it; its tokens go with it and are refused on their next use. */
export async function deleteServiceAccount(db: Db, clientId: string): Promise<void> {
  await repo.deleteCredential(db, (await serviceAccountOrThrow(db, clientId)).id);
}

/** A new secret; the old one stops working at once and the tokens minted with it are revoked. */
export async function rotateServiceAccountSecret(db: Db, clientId: string): Promise<ServiceAccountView & { clientSecret: string }> {
  const account = await serviceAccountOrThrow(db, clientId);
  const clientSecret = newClientSecret();
  const row = { ...account, secretHash: await hashSecret(clientSecret), secretCreatedAt: Date.now() };
  // Both or neither: a new secret beside live tokens minted with the old one would not be a rotation.
  await transaction(db, async (trx) => {
    await repo.putServiceAccount(trx, row);
    await repo.revokeTokensOf(trx, account.id, Date.now());
  });
  return { ...(await serviceAccountView(db, row)), clientSecret };
}

// ——— grants of either kind ———

/** Replaces a credential's roles (all inside its organization); its access list stays. */
export function setRoles(db: Db, kind: CredentialKind, name: string, roles: RoleInput[]): Promise<ApiKeyView | ServiceAccountView> {
  return regrant(db, kind, name, { roles });
}

/** Replaces a credential's access list (empty: any address); its roles stay. */
export function setAccessList(db: Db, kind: CredentialKind, name: string, accessList: string[]): Promise<ApiKeyView | ServiceAccountView> {
  return regrant(db, kind, name, { accessList });
}

/** Replaces what is given of a credential's grants, in one transaction, and shows the result. */
async function regrant(db: Db, kind: CredentialKind, name: string, change: { roles?: RoleInput[]; accessList?: string[] }) {
  const c = kind === 'apiKey' ? await apiKeyOrThrow(db, name) : await serviceAccountOrThrow(db, name);
  await transaction(db, async (trx) => {
    const current = await repo.loadGrants(trx, c.id);
    const resolved = await resolveGrants(trx, c.orgId, change.roles ?? current.roles.map(roleView), change.accessList ?? current.accessList);
    await repo.replaceGrants(trx, c.id, resolved.grants, resolved.accessList);
  });
  return 'publicKey' in c ? apiKeyView(db, c) : serviceAccountView(db, c);
}
