// snaplink as a library: start a server in-process (tests, tools) or drive one with the client.
export { startSnaplink, VERSION, type Snaplink } from './app.js';
export { defaultConfig, type Config } from './config.js';
export { AtlasApiError, AtlasClient, type AtlasClientOptions, type AtlasCredentials, type AtlasResponse } from './client/index.js';
