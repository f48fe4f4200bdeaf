import { exclusively, type Store } from '../store/database.js';
import { createOrganization, createProject } from './admin.js';
import { type ApiKeyView, createApiKey } from './credentials.js';
import { countOrganizations } from './repository.js';

// A first start on an empty store makes a usable world: one organization, one project and an
// organization-owner API key, whose private key is shown once.

export interface Bootstrapped {
  orgId: string;
  projectId: string;
  apiKey: ApiKeyView & { privateKey: string };
}

export async function bootstrapIfEmpty(store: Pick<Store, 'db' | 'dialect'>): Promise<Bootstrapped | undefined> {
  // Exclusive, so of several nodes starting on an empty database only one creates (and prints) it.
  return exclusively(store, 'bootstrap', async (trx) => {
    if ((await countOrganizations(trx)) > 0) return undefined;
    const org = await createOrganization(trx, { name: 'Default Organization' });
    const project = await createProject(trx, { orgId: org.id, name: 'Default Project' });
    const apiKey = await createApiKey(trx, {
      description: 'created at first start',
      roles: [{ orgId: org.id, roleName: 'ORG_OWNER' }],
    });
    return { orgId: org.id, projectId: project.id, apiKey };
  });
}
