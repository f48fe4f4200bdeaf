// snaplink as a library: start a server in-process (tests, tools) or drive one with the client.
// startServer is for tests (a throwaway store, credentials back); startSnaplink takes a whole Config.
export { startServer, type DefaultWorld, type ServerOptions, type SnaplinkServer } from './server.js';
export { startSnaplink, VERSION, type Snaplink } from './app.js';
export { defaultConfig, type Config } from './config.js';
export { AtlasApiError, AtlasClient, type AtlasClientOptions, type AtlasCredentials, type AtlasResponse } from './client/index.js';
export type { SeedFile } from './identity/seed.js';
